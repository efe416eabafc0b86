// pts.cpp — the libtorch facade. The only C++ in pt2onnx.
//
// It loads a TorchScript archive, freezes and canonicalizes forward(), and
// copies the *structure* of the resulting graph into plain C structs (see
// pts.h). Tensor data is not copied: pts_tensor.data points into the storage
// of the graph's constant tensors, which the pts_model keeps alive.
//
// Every entry point catches every exception; nothing C++ leaves this file.

#include "pts.h"

#include <torch/script.h>
#include <torch/csrc/api/include/torch/version.h>
#include <caffe2/serialize/versions.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/lower_tuples.h>
#include <torch/csrc/jit/passes/remove_mutation.h>
#include <torch/csrc/jit/passes/shape_analysis.h>
#include <torch/csrc/jit/runtime/operator.h>
#include <c10/core/CPUAllocator.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <tuple>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

struct pts_model {
	std::shared_ptr<torch::jit::Graph> graph; // owns the constant tensors
	double freeze_seconds = -1; // ---- report ---- see pts_freeze_seconds
	std::vector<at::Tensor> keep;  // contiguous copies of strided constants
	// Stable-address stores for everything the C view points at. A deque
	// never moves its elements when it grows.
	std::deque<std::string> strings;
	std::deque<std::vector<uint32_t>> idx;
	std::deque<std::vector<int64_t>> i64;
	std::deque<std::vector<double>> f64;
	std::deque<std::vector<const char *>> strv;
	std::deque<std::vector<pts_node>> nodes;
	std::deque<std::vector<pts_attr>> attrs;
	std::deque<std::vector<pts_block>> blocks;
	std::deque<pts_const> consts;
	// Schemas, one per distinct libtorch FunctionSchema (registered
	// operators own theirs for the life of the process).
	std::deque<pts_schema> schemas;
	std::deque<std::vector<pts_arg>> args;
	std::unordered_map<const c10::FunctionSchema *, const pts_schema *>
		schema_index;
	std::vector<pts_value> values;
	std::unordered_map<const Value *, uint32_t> index;
	pts_graph view{};
	std::string text;
	// In-place writes C must not convert by rebinding (see alias_writes),
	// with a value read later that shares the written memory.
	std::unordered_map<const Node *, std::string> aliased;
	// ---- aten ----
	// Module calls nodes were inlined from (see scope_of), interned by
	// the enclosing call, the instance and the call site.
	std::deque<pts_scope> scopes;
	std::map<std::tuple<const pts_scope *, std::string, std::string,
			    const void *, size_t>,
		 const pts_scope *>
		scope_index;
	// The libtorch node each pts_node describes (pts_node_types).
	std::unordered_map<const pts_node *, const Node *> torch_node;
	// ---- knobs ----
	bool training = false; // forward() was frozen in training mode
	// Parameters and buffers in state_dict order, and the graph value
	// (a frozen constant) holding each, or UINT32_MAX.
	std::vector<const char *> param_names;
	std::vector<uint32_t> param_values;
	std::unordered_map<std::string, size_t> param_index; // "self.a.b" -> i
	std::unordered_map<const pts_node *, const char *> scope_paths;
};

// ---- archive validation ---------------------------------------------------
//
// libtorch trusts the archive: its unpickler sizes a tensor's storage from
// the element count written in data.pkl, not from the record that holds
// the bytes (a short record is read past its end), allocates whatever a
// string or memo index asks for, and inflates any record however large.
// So before torch::jit::load sees a file, its zip structure and the
// storages its pickles declare are checked here, against the file itself.
// What fails is corrupt (PTS_E_ARCHIVE); what passes has declared sizes
// bounded by the file's, so that an allocation failing afterwards is a
// true out-of-memory.

namespace {

struct corrupt_archive : std::runtime_error {
	using std::runtime_error::runtime_error;
};

// One zip member, from the central directory.
struct zip_entry {
	std::string name;
	uint16_t method = 0;   // 0 stored, 8 deflated
	uint32_t crc = 0;
	uint64_t csize = 0;    // bytes in the file
	uint64_t usize = 0;    // bytes once inflated
	uint64_t data = 0;     // file offset of the member's data
};

// Inflated-to-compressed ratio above which a record is taken for a zip
// bomb (deflate's own limit is ~1032; text compresses ~10x).
constexpr uint64_t BOMB_RATIO = 200;
constexpr uint64_t BOMB_MIN = 1 << 20;
// Deepest container nesting accepted in a pickle: libtorch recurses on
// nested values (printing, destruction), real modules nest a few levels.
constexpr int MAX_NESTING = 1000;

uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

// The archive file, read with pread (never mapped nor read whole).
struct zip_file {
	int fd = -1;       // open for reading; closed by the destructor
	uint64_t size = 0; // bytes in the file
	~zip_file()
	{
		if (fd >= 0)
			close(fd);
	}
	void read_at(uint64_t off, void *buf, size_t n, const char *what) const
	{
		if (off > size || n > size - off)
			throw corrupt_archive(std::string(what) +
					      " lies past the end of the file");
		size_t done = 0;
		while (done < n) {
			ssize_t r = pread(fd, (char *)buf + done, n - done,
					  (off_t)(off + done));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				throw corrupt_archive(std::string("cannot read ") +
						      what);
			done += (size_t)r;
		}
	}
};

// The central directory: every member, checked against the file.
std::vector<zip_entry> read_directory(const zip_file &f)
{
	// The end record is in the last 64 KiB + 22 bytes (its comment is
	// at most 65535 bytes).
	uint64_t tail = std::min<uint64_t>(f.size, 65535 + 22);
	std::vector<unsigned char> t(tail);
	f.read_at(f.size - tail, t.data(), tail, "the end record");
	long eocd = -1;
	for (long i = (long)tail - 22; i >= 0; i--)
		if (le32(&t[i]) == 0x06054b50) {
			eocd = i;
			break;
		}
	if (eocd < 0)
		throw corrupt_archive("no zip end record (truncated?)");
	uint64_t eocd_off = f.size - tail + (uint64_t)eocd;
	uint64_t count = le16(&t[eocd + 10]);
	uint64_t cd_size = le32(&t[eocd + 12]);
	uint64_t cd_off = le32(&t[eocd + 16]);
	if (count == 0xffff || cd_size == 0xffffffff || cd_off == 0xffffffff) {
		// ZIP64: a locator just before the end record points at the
		// 64-bit end record.
		unsigned char loc[20], e64[56];
		if (eocd_off < 20)
			throw corrupt_archive("truncated ZIP64 locator");
		f.read_at(eocd_off - 20, loc, 20, "the ZIP64 locator");
		if (le32(loc) != 0x07064b50)
			throw corrupt_archive("bad ZIP64 locator");
		f.read_at(le64(loc + 8), e64, 56, "the ZIP64 end record");
		if (le32(e64) != 0x06064b50)
			throw corrupt_archive("bad ZIP64 end record");
		count = le64(e64 + 32);
		cd_size = le64(e64 + 40);
		cd_off = le64(e64 + 48);
	}
	if (cd_off > eocd_off || cd_size > eocd_off - cd_off)
		throw corrupt_archive("the zip directory lies outside the file");
	// Each directory entry takes at least 46 bytes: a count the directory
	// cannot hold is corrupt (and bounds the vector below).
	if (count > cd_size / 46)
		throw corrupt_archive("the zip directory is shorter than its "
				      "entry count");
	std::vector<unsigned char> cd(cd_size);
	f.read_at(cd_off, cd.data(), cd_size, "the zip directory");
	std::vector<zip_entry> es;
	es.reserve(count);
	std::unordered_set<std::string> names;
	size_t p = 0;
	for (uint64_t k = 0; k < count; k++) {
		if (p + 46 > cd.size() || le32(&cd[p]) != 0x02014b50)
			throw corrupt_archive("bad zip directory entry");
		zip_entry e;
		e.method = le16(&cd[p + 10]);
		e.crc = le32(&cd[p + 16]);
		e.csize = le32(&cd[p + 20]);
		e.usize = le32(&cd[p + 24]);
		size_t nlen = le16(&cd[p + 28]), xlen = le16(&cd[p + 30]),
		       clen = le16(&cd[p + 32]);
		uint64_t lh = le32(&cd[p + 42]);
		if (p + 46 + nlen + xlen + clen > cd.size())
			throw corrupt_archive("bad zip directory entry");
		e.name.assign((const char *)&cd[p + 46], nlen);
		// ZIP64 sizes and offset, in this order, for the fields that
		// say 0xffffffff.
		for (size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
			size_t id = le16(&cd[x]), len = le16(&cd[x + 2]);
			if (x + 4 + len > p + 46 + nlen + xlen)
				break;
			if (id == 1) {
				size_t q = x + 4, end = q + len;
				if (e.usize == 0xffffffff && q + 8 <= end)
					e.usize = le64(&cd[q]), q += 8;
				if (e.csize == 0xffffffff && q + 8 <= end)
					e.csize = le64(&cd[q]), q += 8;
				if (lh == 0xffffffff && q + 8 <= end)
					lh = le64(&cd[q]);
			}
			x += 4 + len;
		}
		p += 46 + nlen + xlen + clen;
		if (!names.insert(e.name).second)
			throw corrupt_archive("the zip entry '" + e.name +
					      "' is there twice");
		if (e.method != 0 && e.method != 8)
			throw corrupt_archive("the zip entry '" + e.name +
					      "' uses an unknown compression");
		unsigned char h[30];
		f.read_at(lh, h, 30, ("the zip header of '" + e.name + "'").c_str());
		if (le32(h) != 0x04034b50)
			throw corrupt_archive("bad zip header for '" + e.name + "'");
		e.data = lh + 30 + le16(h + 26) + le16(h + 28);
		if (e.data > cd_off || e.csize > cd_off - e.data)
			throw corrupt_archive("the zip entry '" + e.name +
					      "' runs past its end");
		if (e.method == 0 && e.csize != e.usize)
			throw corrupt_archive("the zip entry '" + e.name +
					      "' has inconsistent sizes");
		if (e.method == 8 && e.usize > BOMB_MIN &&
		    e.usize / BOMB_RATIO > e.csize)
			throw corrupt_archive("the zip entry '" + e.name +
					      "' inflates " +
					      std::to_string(e.csize) + " bytes to " +
					      std::to_string(e.usize) +
					      " (a zip bomb)");
		es.push_back(std::move(e));
	}
	return es;
}

// Every member's checksum: libtorch's zip reader checks none, and a
// damaged code or pickle record can corrupt its heap. Inflated members
// are inflated here into a small window (sizes are bounded above).
void check_crcs(const zip_file &f, const std::vector<const zip_entry *> &es)
{
	std::vector<unsigned char> buf(1 << 20), out(1 << 16);
	for (const zip_entry *ep : es) {
		const zip_entry &e = *ep;
		uLong crc = crc32(0L, Z_NULL, 0);
		uint64_t produced = 0;
		z_stream zs{};
		if (e.method == 8 && inflateInit2(&zs, -MAX_WBITS) != Z_OK)
			throw std::bad_alloc();
		int zrc = Z_OK;
		for (uint64_t done = 0; done < e.csize;) {
			size_t n = (size_t)std::min<uint64_t>(buf.size(),
							      e.csize - done);
			f.read_at(e.data + done, buf.data(), n, e.name.c_str());
			done += n;
			if (e.method == 0) {
				crc = crc32(crc, buf.data(), (uInt)n);
				produced += n;
				continue;
			}
			zs.next_in = buf.data();
			zs.avail_in = (uInt)n;
			do {
				zs.next_out = out.data();
				zs.avail_out = (uInt)out.size();
				zrc = inflate(&zs, Z_NO_FLUSH);
				size_t got = out.size() - zs.avail_out;
				crc = crc32(crc, out.data(), (uInt)got);
				produced += got;
			} while (zrc == Z_OK && zs.avail_out == 0 &&
				 produced <= e.usize);
			if (zrc != Z_OK || produced > e.usize)
				break;
		}
		if (e.method == 8)
			inflateEnd(&zs);
		if ((e.method == 8 && zrc != Z_STREAM_END) || produced != e.usize)
			throw corrupt_archive("the zip entry '" + e.name +
					      "' does not inflate to its size");
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
		// (Fuzzing builds skip it: a mutated byte would almost always
		// stop here, while a real attacker rewrites the checksum.)
		if ((uint32_t)crc != e.crc)
			throw corrupt_archive("the zip entry '" + e.name +
					      "' fails its checksum");
#endif
	}
}

std::string member_bytes(const zip_file &f, const zip_entry &e)
{
	std::string in(e.csize, '\0');
	f.read_at(e.data, &in[0], in.size(), e.name.c_str());
	if (e.method == 0)
		return in;
	std::string out(e.usize, '\0');
	z_stream zs{};
	if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
		throw std::bad_alloc();
	zs.next_in = (Bytef *)&in[0];
	zs.avail_in = (uInt)in.size();
	zs.next_out = (Bytef *)&out[0];
	zs.avail_out = (uInt)out.size();
	int rc = inflate(&zs, Z_FINISH);
	uLong got = zs.total_out;
	inflateEnd(&zs);
	if (rc != Z_STREAM_END || got != e.usize)
		throw corrupt_archive("the zip entry '" + e.name +
				      "' does not inflate to its size");
	return out;
}

// Bytes per element of the storage classes torch's pickles name.
size_t storage_itemsize(const std::string &g)
{
	static const std::unordered_map<std::string, size_t> sizes = {
		{ "torch.FloatStorage", 4 },	 { "torch.DoubleStorage", 8 },
		{ "torch.HalfStorage", 2 },	 { "torch.BFloat16Storage", 2 },
		{ "torch.LongStorage", 8 },	 { "torch.IntStorage", 4 },
		{ "torch.ShortStorage", 2 },	 { "torch.CharStorage", 1 },
		{ "torch.ByteStorage", 1 },	 { "torch.BoolStorage", 1 },
		{ "torch.ComplexFloatStorage", 8 },
		{ "torch.ComplexDoubleStorage", 16 },
		{ "torch.QInt8Storage", 1 },	 { "torch.QUInt8Storage", 1 },
		{ "torch.QInt32Storage", 4 },
	};
	auto it = sizes.find(g);
	return it == sizes.end() ? 0 : it->second;
}

// What the pickle scan keeps of a value: enough to read the persistent
// ids of storages, ('storage', torch.XStorage, key, location, numel).
struct pk_item {
	enum kind { OTHER, STR, GLOBAL, INT, TUPLE, LIST, MARK } k = OTHER;
	std::string s;                          // STR, GLOBAL
	int64_t i = 0;                          // INT
	// TUPLE, LIST: the items. Shared, as the unpickler shares them: a
	// list memoized before its appends is the same list when fetched.
	std::shared_ptr<std::vector<pk_item>> t;
	int depth = 0;                          // container nesting
};

// Walks the opcodes libtorch's unpickler knows, checking every length
// against the bytes left, every memo reference, and the nesting depth,
// and checks each storage it declares against its record's size. An
// opcode outside that set is left for libtorch to refuse (and the result
// is then an OTHER item). Returns what the pickle builds, as far as the
// items above describe it: tuples and lists keep their items.
pk_item scan_pickle(const std::string &name, const std::string &pk,
		 const std::string &tensor_dir,
		 const std::unordered_map<std::string, uint64_t> &records)
{
	std::vector<pk_item> st;
	std::unordered_map<uint64_t, pk_item> memo;
	size_t p = 0, n = pk.size();
	auto bad = [&](const std::string &why) {
		return corrupt_archive(name + ": " + why + " at byte " +
				       std::to_string(p));
	};
	auto need = [&](uint64_t k) {
		if (k > n - p)
			throw bad("a length runs past the end of the pickle");
	};
	auto uint_le = [&](size_t k) {
		need(k);
		uint64_t v = 0;
		for (size_t j = 0; j < k; j++)
			v |= (uint64_t)(unsigned char)pk[p + j] << (8 * j);
		p += k;
		return v;
	};
	auto pop = [&]() {
		if (st.empty() || st.back().k == pk_item::MARK)
			throw bad("the pickle stack underflows");
		pk_item v = std::move(st.back());
		st.pop_back();
		return v;
	};
	// Pops down to the last mark; returns the items above it, in order.
	auto pop_mark = [&]() {
		auto items = std::make_shared<std::vector<pk_item>>();
		size_t m = st.size();
		while (m > 0 && st[m - 1].k != pk_item::MARK)
			m--;
		if (m == 0)
			throw bad("no mark on the pickle stack");
		items->assign(std::make_move_iterator(st.begin() + m),
			      std::make_move_iterator(st.end()));
		st.resize(m - 1);
		return items;
	};
	auto deepest = [](const std::vector<pk_item> &v) {
		int d = 0;
		for (const auto &x : v)
			d = std::max(d, x.depth);
		return d;
	};
	auto push_container = [&](int depth, std::shared_ptr<std::vector<pk_item>> t) {
		if (depth > MAX_NESTING)
			throw bad("values nested deeper than " +
				  std::to_string(MAX_NESTING) + " levels");
		pk_item v;
		v.k = t ? pk_item::TUPLE : pk_item::OTHER;
		v.t = std::move(t);
		v.depth = depth;
		st.push_back(std::move(v));
	};
	auto text = [&](uint64_t len) {
		need(len);
		pk_item v;
		v.k = pk_item::STR;
		v.s.assign(pk, p, len);
		p += len;
		st.push_back(std::move(v));
	};
	auto line = [&]() {
		size_t nl = pk.find('\n', p);
		if (nl == std::string::npos)
			throw bad("a GLOBAL name runs past the end of the pickle");
		std::string s = pk.substr(p, nl - p);
		p = nl + 1;
		return s;
	};
	while (true) {
		if (p >= n)
			throw bad("the pickle ends without STOP");
		unsigned char op = (unsigned char)pk[p++];
		switch (op) {
		case 0x80: uint_le(1); break; // PROTO
		case 0x95: uint_le(8); break; // FRAME
		case '.':                     // STOP
			return st.empty() ? pk_item() : st.back();
		case '(': { pk_item m; m.k = pk_item::MARK; st.push_back(m); break; }
		case '0': pop(); break;
		case '1': pop_mark(); break;
		case 'N': case 0x88: case 0x89: st.push_back(pk_item()); break;
		case 'K': case 'M': case 'J': {
			pk_item v;
			v.k = pk_item::INT;
			uint64_t raw = uint_le(op == 'K' ? 1 : op == 'M' ? 2 : 4);
			v.i = op == 'J' ? (int64_t)(int32_t)raw : (int64_t)raw;
			st.push_back(v);
			break;
		}
		case 0x8a: { // LONG1
			uint64_t len = uint_le(1);
			need(len);
			pk_item v;
			v.k = pk_item::INT;
			if (len > 0 && len <= 8) {
				uint64_t raw = 0;
				for (size_t j = 0; j < len; j++)
					raw |= (uint64_t)(unsigned char)pk[p + j] << (8 * j);
				if (len < 8 && (raw >> (8 * len - 1) & 1))
					raw |= ~0ULL << (8 * len); // sign
				v.i = (int64_t)raw;
			} else {
				v.k = pk_item::OTHER; // too long for int64
			}
			p += len;
			st.push_back(v);
			break;
		}
		case 'G': uint_le(8); st.push_back(pk_item()); break;
		case 'X': text(uint_le(4)); break;
		case 0x8c: text(uint_le(1)); break;
		case 0x8d: text(uint_le(8)); break;
		case 'B': text(uint_le(4)); st.back().k = pk_item::OTHER; break;
		case 'C': text(uint_le(1)); st.back().k = pk_item::OTHER; break;
		case 0x8e: text(uint_le(8)); st.back().k = pk_item::OTHER; break;
		case 'q': case 'r': case 0x94: { // BINPUT, LONG_BINPUT, MEMOIZE
			uint64_t idx = op == 'q' ? uint_le(1) :
				       op == 'r' ? uint_le(4) : memo.size();
			if (st.empty() || st.back().k == pk_item::MARK)
				throw bad("memoizing an empty stack");
			// Picklers number memo slots from 0, one per put: an
			// index past the pickle's length is not from one (and
			// libtorch would size its memo table by it).
			if (idx > n)
				throw bad("a memo index out of range (" +
					  std::to_string(idx) + ")");
			memo[idx] = st.back();
			break;
		}
		case 'h': case 'j': {
			uint64_t idx = uint_le(op == 'h' ? 1 : 4);
			auto it = memo.find(idx);
			if (it == memo.end())
				throw bad("a memo reference to nothing (" +
					  std::to_string(idx) + ")");
			st.push_back(it->second);
			break;
		}
		case ']':
			push_container(1, std::make_shared<std::vector<pk_item>>());
			st.back().k = pk_item::LIST;
			break;
		case '}': push_container(1, nullptr); break;
		case ')': push_container(1, std::make_shared<std::vector<pk_item>>()); break;
		case 't': {
			auto items = pop_mark();
			push_container(deepest(*items) + 1, items);
			break;
		}
		case 0x85: case 0x86: case 0x87: {
			size_t k = op - 0x84;
			auto items = std::make_shared<std::vector<pk_item>>(k);
			for (size_t j = k; j > 0; j--)
				(*items)[j - 1] = pop();
			push_container(deepest(*items) + 1, items);
			break;
		}
		case 'l': case 'd': {
			auto items = pop_mark();
			push_container(deepest(*items) + 1, nullptr);
			break;
		}
		case 'e': { // APPENDS: into the list itself
			auto items = pop_mark();
			pk_item c = pop();
			int depth = std::max(c.depth, deepest(*items) + 1);
			if (c.k != pk_item::LIST) {
				push_container(depth, nullptr);
				break;
			}
			if (depth > MAX_NESTING)
				throw bad("values nested deeper than " +
					  std::to_string(MAX_NESTING) + " levels");
			c.t->insert(c.t->end(), std::make_move_iterator(items->begin()),
				    std::make_move_iterator(items->end()));
			c.depth = depth;
			st.push_back(std::move(c));
			break;
		}
		case 'u': {
			auto items = pop_mark();
			pk_item c = pop();
			push_container(std::max(c.depth, deepest(*items) + 1), nullptr);
			break;
		}
		case 's': {
			pk_item v = pop(), k = pop(), c = pop();
			push_container(std::max(c.depth, std::max(v.depth, k.depth) + 1),
				       nullptr);
			break;
		}
		case 'c': {
			pk_item v;
			v.k = pk_item::GLOBAL;
			v.s = line();
			v.s += "." + line();
			st.push_back(v);
			break;
		}
		case 0x93: { // STACK_GLOBAL
			pop();
			pop();
			st.push_back(pk_item());
			break;
		}
		case 'R': case 0x81: { // REDUCE, NEWOBJ: f(args)
			pk_item args = pop(), f = pop();
			// TorchScript's typed lists: build_intlist([...]) & co.
			// are the list they are given.
			static const std::string typed = "torch.jit._pickle.build_";
			if (op == 'R' && f.k == pk_item::GLOBAL &&
			    f.s.compare(0, typed.size(), typed) == 0 &&
			    f.s.size() > 4 && f.s.compare(f.s.size() - 4, 4, "list") == 0 &&
			    args.k == pk_item::TUPLE && args.t->size() == 1 &&
			    (*args.t)[0].k == pk_item::LIST) {
				st.push_back((*args.t)[0]);
				st.back().depth = args.depth + 1;
				break;
			}
			push_container(args.depth + 1, nullptr);
			break;
		}
		case 'b': { // BUILD: obj.__setstate__(state)
			pk_item state = pop(), obj = pop();
			push_container(std::max(obj.depth, state.depth + 1), nullptr);
			break;
		}
		case 'Q': { // BINPERSID
			pk_item id = pop();
			const auto *a = id.t.get();
			if (a && a->size() == 5 && (*a)[0].k == pk_item::STR &&
			    (*a)[0].s == "storage" && (*a)[1].k == pk_item::GLOBAL &&
			    (*a)[2].k == pk_item::STR && (*a)[4].k == pk_item::INT) {
				size_t item = storage_itemsize((*a)[1].s);
				int64_t numel = (*a)[4].i;
				auto rec = records.find(tensor_dir + (*a)[2].s);
				if (numel < 0)
					throw bad("a storage of negative size");
				if (item && rec != records.end() &&
				    ((uint64_t)numel > rec->second / item))
					throw corrupt_archive(
						"tensor storage '" + tensor_dir +
						(*a)[2].s + "' declares " +
						std::to_string(numel) +
						" elements of " + std::to_string(item) +
						" bytes but its record holds " +
						std::to_string(rec->second) + " bytes");
			}
			st.push_back(pk_item());
			break;
		}
		default: // not an opcode libtorch reads: it will say so
			return pk_item();
		}
	}
}

// The source ranges of a code file's .debug_pkl, as libtorch 1.13 reads
// them: ('FORMAT_WITH_STRING_TABLE', (text, ...), records) or, older, the
// records alone; a record is (byte offset into the code file, range[,
// debug handle]) and a range ((text indices, file index, first line) |
// (text, file, first line), start, end). libtorch indexes the string table
// and the range's text with these numbers unchecked, so each is checked
// here: a file that does not have this shape is refused too, since libtorch
// would read it on the same unchecked path.
void check_debug_pkl(const std::string &name, const pk_item &top,
		     uint64_t code_size)
{
	auto bad = [&](const std::string &why) {
		return corrupt_archive(name + ": " + why);
	};
	auto seq = [](const pk_item &v, size_t lo, size_t hi) {
		return (v.k == pk_item::TUPLE || v.k == pk_item::LIST) && v.t &&
		       v.t->size() >= lo && v.t->size() <= hi;
	};
	if (!seq(top, 0, SIZE_MAX))
		throw bad("the source ranges are not a tuple");
	const std::vector<pk_item> *table = nullptr, *recs = top.t.get();
	if (!recs->empty() && (*recs)[0].k == pk_item::STR) {
		if ((*recs)[0].s != "FORMAT_WITH_STRING_TABLE" || recs->size() != 3 ||
		    !seq((*recs)[1], 0, SIZE_MAX) || !seq((*recs)[2], 0, SIZE_MAX))
			throw bad("an unknown source range format");
		table = (*recs)[1].t.get();
		for (const auto &x : *table)
			if (x.k != pk_item::STR)
				throw bad("a source string table entry is not a string");
		recs = (*recs)[2].t.get();
	}
	for (const auto &r : *recs) {
		if (!seq(r, 2, 3) || (*r.t)[0].k != pk_item::INT ||
		    !seq((*r.t)[1], 3, 3))
			throw bad("a source range record of the wrong shape");
		int64_t off = (*r.t)[0].i;
		if (off < 0 || (uint64_t)off > code_size)
			throw bad("a source range at byte " + std::to_string(off) +
				  " of a " + std::to_string(code_size) +
				  "-byte code file");
		const auto &rng = *(*r.t)[1].t;
		if (!seq(rng[0], 3, 3) || rng[1].k != pk_item::INT ||
		    rng[2].k != pk_item::INT)
			throw bad("a source range of the wrong shape");
		const auto &src = *rng[0].t;
		uint64_t len = 0;
		if (table) {
			if (!seq(src[0], 0, SIZE_MAX) || src[1].k != pk_item::INT)
				throw bad("a source of the wrong shape");
			for (const auto &x : *src[0].t) {
				if (x.k != pk_item::INT || x.i < 0 ||
				    (uint64_t)x.i >= table->size())
					throw bad("a source names string " +
						  std::string(x.k == pk_item::INT ?
						  std::to_string(x.i) : "?") +
						  " of a table of " +
						  std::to_string(table->size()));
				len += (*table)[(size_t)x.i].s.size();
			}
			if (src[1].i < 0 || (uint64_t)src[1].i >= table->size())
				throw bad("a source file name outside the string table");
		} else {
			if (src[0].k != pk_item::STR)
				throw bad("a source text that is not a string");
			len = src[0].s.size();
		}
		// torch.jit.save itself writes 0..1 over an empty text (the
		// range of generated code), which libtorch reads safely.
		int64_t a = rng[1].i, b = rng[2].i;
		if (a < 0 || b < a || (uint64_t)b > len + (len == 0))
			throw bad("the source range " + std::to_string(a) + ".." +
				  std::to_string(b) + " of a " +
				  std::to_string(len) + "-byte source");
	}
}

// What an archive says of the PyTorch that wrote it, for the messages of
// a model this libtorch cannot read. Empty fields were not recorded.
struct archive_info {
	std::string version;      // the `version` record: the file format
	                          // version (raised by ops whose semantics
	                          // changed, see caffe2's versions.h)
	std::string data_version; // `.data/version`, written by newer PyTorch
	long bytecode = -1;       // bytecode.pkl's version (lite interpreter
	                          // archives), or -1
	// Records PyTorch 2.x writes and 1.13 does not (`byteorder`,
	// `.data/serialization_id`): with format version 3 either way, they
	// are what tells a 2.x archive apart.
	std::string newer_records;
};

std::string trimmed(std::string s)
{
	while (!s.empty() && (s.back() == '\n' || s.back() == '\r' ||
			      s.back() == ' '))
		s.pop_back();
	// A record is a short decimal number; anything else is shown cut.
	if (s.size() > 20)
		s.resize(20);
	return s;
}

// bytecode.pkl is a tuple whose first element is the bytecode version:
// PROTO, an optional MARK, then a small int opcode.
long bytecode_version(const std::string &pk)
{
	size_t p = 0;
	if (pk.size() >= 2 && (unsigned char)pk[0] == 0x80)
		p = 2;
	if (p < pk.size() && pk[p] == '(')
		p++;
	if (p + 2 <= pk.size() && pk[p] == 'K')
		return (unsigned char)pk[p + 1];
	if (p + 3 <= pk.size() && pk[p] == 'M')
		return (unsigned char)pk[p + 1] | (unsigned char)pk[p + 2] << 8;
	return -1;
}

// The checksums of the members that hold tensor bytes (FOLDER/data/N and
// FOLDER/constants/N, stored): libtorch copies them and parses nothing in
// them, so they are checked on a second thread while torch::jit::load
// reads the rest (most of an archive's bytes; ~0.05 s for resnet50's
// 100 MB). finish() waits, and throws what a check found.
struct later_crcs {
	zip_file f;
	std::vector<zip_entry> es;
	std::vector<const zip_entry *> todo;
	std::thread worker;
	std::exception_ptr failed;

	void start()
	{
		if (todo.empty())
			return;
		try {
			worker = std::thread([this] {
				try {
					check_crcs(f, todo);
				} catch (...) {
					failed = std::current_exception();
				}
			});
		} catch (const std::system_error &) {
			check_crcs(f, todo); // no thread to be had: check now
		}
	}
	void finish()
	{
		if (worker.joinable())
			worker.join();
		if (failed)
			std::rethrow_exception(std::exchange(failed, nullptr));
	}
	~later_crcs()
	{
		if (worker.joinable())
			worker.join();
	}
};

// Everything above, for the archive at path; fills *info from the records
// that tell the writer's version (bounded: they are a few bytes). The
// checksums of tensor bytes are left to later (started, not finished).
void check_archive(const char *path, archive_info *info, later_crcs *later)
{
	zip_file &f = later->f;
	f.fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (f.fd < 0 || fstat(f.fd, &sb) != 0)
		throw corrupt_archive(std::string("cannot open: ") + strerror(errno));
	f.size = (uint64_t)sb.st_size;
	later->es = read_directory(f);
	const auto &es = later->es;
	if (es.empty())
		throw corrupt_archive("the zip archive is empty");
	// libtorch takes the archive folder from the first member's name.
	std::string folder = es[0].name.substr(0, es[0].name.find('/') + 1);
	std::vector<const zip_entry *> now;
	for (const auto &e : es) {
		bool raw = false;
		if (e.method == 0 && e.name.compare(0, folder.size(), folder) == 0) {
			std::string rel = e.name.substr(folder.size());
			raw = (rel.compare(0, 5, "data/") == 0 ||
			       rel.compare(0, 10, "constants/") == 0) &&
			      rel.find('.') == std::string::npos;
		}
		(raw ? later->todo : now).push_back(&e);
	}
	check_crcs(f, now);
	std::unordered_map<std::string, uint64_t> records;
	for (const auto &e : es)
		if (e.name.compare(0, folder.size(), folder) == 0)
			records[e.name.substr(folder.size())] = e.usize;
	// Every pickle: data.pkl and constants.pkl are read at load, the
	// code's .debug_pkl records when a source location is asked for.
	for (const auto &e : es) {
		std::string rel = e.name.substr(std::min(folder.size(), e.name.size()));
		bool data = rel == "data.pkl", consts = rel == "constants.pkl";
		if (data || consts ||
		    (rel.size() > 4 && (rel.compare(rel.size() - 4, 4, ".pkl") == 0 ||
					rel.compare(rel.size() - 4, 4, "_pkl") == 0))) {
			pk_item top = scan_pickle(rel, member_bytes(f, e),
						  data ? "data/" : consts ? "constants/" : "",
						  records);
			static const std::string dbg = ".debug_pkl";
			if (rel.size() > dbg.size() &&
			    rel.compare(rel.size() - dbg.size(), dbg.size(), dbg) == 0) {
				// libtorch reads one with its code file only.
				auto code = records.find(rel.substr(0, rel.size() - dbg.size()));
				if (code != records.end())
					check_debug_pkl(rel, top, code->second);
			}
		}
		if (e.usize > 4096)
			continue;
		if (rel == "version")
			info->version = trimmed(member_bytes(f, e));
		else if (rel == ".data/version")
			info->data_version = trimmed(member_bytes(f, e));
		else if ((rel == "byteorder" || rel == ".data/serialization_id") &&
			 info->newer_records.find(rel) == std::string::npos)
			info->newer_records += (info->newer_records.empty() ? "" : ", ") + rel;
	}
	for (const auto &e : es)
		if (e.name.size() >= 12 &&
		    e.name.compare(e.name.size() - 12, 12, "bytecode.pkl") == 0 &&
		    e.usize <= (64u << 20))
			info->bytecode = bytecode_version(member_bytes(f, e));
	later->start();
}

// A tensor whose sizes and strides reach past its storage (libtorch's
// unpickler sets them as written) would read memory that is not its own.
void check_tensor_extent(const at::Tensor &t, const std::string &what)
{
	if (!t.defined() || !t.has_storage() || t.is_quantized() ||
	    t.is_sparse() || t.is_mkldnn() || t.numel() == 0)
		return;
	uint64_t last = (uint64_t)t.storage_offset();
	bool ok = t.storage_offset() >= 0;
	for (int64_t d = 0; ok && d < t.dim(); d++) {
		int64_t sz = t.size(d), sd = t.stride(d);
		if (sz < 0 || sd < 0) {
			ok = false;
			break;
		}
		uint64_t reach;
		if (__builtin_mul_overflow((uint64_t)(sz - 1), (uint64_t)sd, &reach) ||
		    __builtin_add_overflow(last, reach, &last))
			ok = false;
	}
	uint64_t bytes;
	if (!ok || __builtin_mul_overflow(last + 1, (uint64_t)t.element_size(), &bytes) ||
	    bytes > t.storage().nbytes())
		throw corrupt_archive("the tensor " + what +
				      " reaches past the end of its storage");
}

// Every tensor reachable from the module's attributes.
void check_module_tensors(const c10::IValue &root)
{
	std::vector<std::pair<c10::IValue, std::string>> todo{ { root, "self" } };
	std::unordered_set<const void *> seen;
	while (!todo.empty()) {
		auto [v, path] = std::move(todo.back());
		todo.pop_back();
		if (v.isTensor()) {
			check_tensor_extent(v.toTensor(), "'" + path + "'");
		} else if (v.isObject()) {
			auto obj = v.toObject();
			if (!seen.insert(obj.get()).second)
				continue;
			auto type = obj->type();
			for (size_t i = 0; i < obj->slots().size(); i++)
				todo.emplace_back(obj->getSlot(i),
						  path + "." + type->getAttributeName(i));
		} else if (v.isList()) {
			for (const auto &x : v.toListRef())
				todo.emplace_back(x, path + "[]");
		} else if (v.isTuple()) {
			for (const auto &x : v.toTupleRef().elements())
				todo.emplace_back(x, path + "[]");
		} else if (v.isGenericDict()) {
			for (const auto &kv : v.toGenericDict())
				todo.emplace_back(kv.value(), path + "[]");
		}
	}
}

} // namespace

namespace {

// libtorch reports warnings through c10's handler, which prints to stderr by
// default. The converter owns its messages, so warnings are dropped here.
struct QuietWarnings : c10::WarningHandler {
#if TORCH_VERSION_MAJOR >= 2
	// libtorch 2.x hands the handler one Warning object.
	void process(const c10::Warning &) override
	{
	}
#else
	void process(const c10::SourceLocation &, const std::string &,
		     const bool) override
	{
	}
#endif
};

const char *keep_str(pts_model *m, const std::string &s)
{
	m->strings.push_back(s);
	return m->strings.back().c_str();
}

const uint32_t *keep_idx(pts_model *m, std::vector<uint32_t> v)
{
	m->idx.push_back(std::move(v));
	return m->idx.back().data();
}

const int64_t *keep_i64(pts_model *m, std::vector<int64_t> v)
{
	m->i64.push_back(std::move(v));
	return m->i64.back().data();
}

const double *keep_f64(pts_model *m, std::vector<double> v)
{
	m->f64.push_back(std::move(v));
	return m->f64.back().data();
}

int dtype_of(c10::ScalarType t)
{
	switch (t) {
	case c10::ScalarType::Float: return PTS_FLOAT;
	case c10::ScalarType::Byte: return PTS_UINT8;
	case c10::ScalarType::Char: return PTS_INT8;
	case c10::ScalarType::Short: return PTS_INT16;
	case c10::ScalarType::Int: return PTS_INT32;
	case c10::ScalarType::Long: return PTS_INT64;
	case c10::ScalarType::Bool: return PTS_BOOL;
	case c10::ScalarType::Half: return PTS_FLOAT16;
	case c10::ScalarType::Double: return PTS_DOUBLE;
	case c10::ScalarType::ComplexFloat: return PTS_COMPLEX64;
	case c10::ScalarType::ComplexDouble: return PTS_COMPLEX128;
	case c10::ScalarType::BFloat16: return PTS_BFLOAT16;
	default: return PTS_UNDEFINED;
	}
}

int vkind_of(const c10::TypePtr &t)
{
	switch (t->kind()) {
	case c10::TypeKind::TensorType: return PTS_V_TENSOR;
	case c10::TypeKind::IntType: return PTS_V_INT;
	case c10::TypeKind::FloatType: return PTS_V_FLOAT;
	case c10::TypeKind::BoolType: return PTS_V_BOOL;
	case c10::TypeKind::NoneType: return PTS_V_NONE;
	case c10::TypeKind::StringType: return PTS_V_STRING;
	case c10::TypeKind::ListType: return PTS_V_LIST;
	case c10::TypeKind::TupleType: return PTS_V_TUPLE;
	case c10::TypeKind::OptionalType: return PTS_V_OPTIONAL;
	case c10::TypeKind::DeviceObjType: return PTS_V_DEVICE;
	case c10::TypeKind::ClassType: return PTS_V_OBJECT;
	case c10::TypeKind::NumberType: return PTS_V_SCALAR;
	default: return PTS_V_OTHER;
	}
}

void fill_tensor(pts_model *m, at::Tensor t, pts_tensor *out)
{
	if (!t.defined()) {
		out->dtype = PTS_UNDEFINED;
		return;
	}
	if (t.is_quantized() || t.is_sparse() || t.is_mkldnn()) {
		out->dtype = PTS_UNDEFINED;
		return;
	}
	check_tensor_extent(t, "constant");
	if (!t.device().is_cpu() || !t.is_contiguous()) {
		// The one copy the format forces: ONNX wants dense host data.
		t = t.to(at::kCPU).contiguous();
		m->keep.push_back(t);
	}
	out->dtype = dtype_of(t.scalar_type());
	out->rank = (int)t.dim();
	out->dims = keep_i64(m, t.sizes().vec());
	out->data = t.data_ptr();
	out->nbytes = t.nbytes();
}

const pts_const *const_of(pts_model *m, const c10::optional<c10::IValue> &iv)
{
	m->consts.emplace_back();
	pts_const *c = &m->consts.back();
	std::memset(c, 0, sizeof *c);
	if (!iv) {
		c->kind = PTS_C_OTHER;
		return c;
	}
	if (iv->isNone()) {
		c->kind = PTS_C_NONE;
	} else if (iv->isBool()) {
		c->kind = PTS_C_BOOL;
		c->i = iv->toBool();
	} else if (iv->isInt()) {
		c->kind = PTS_C_INT;
		c->i = iv->toInt();
	} else if (iv->isDouble()) {
		c->kind = PTS_C_FLOAT;
		c->f = iv->toDouble();
	} else if (iv->isString()) {
		c->kind = PTS_C_STRING;
		c->s = keep_str(m, iv->toStringRef());
	} else if (iv->isDevice()) {
		c->kind = PTS_C_DEVICE;
		c->s = keep_str(m, iv->toDevice().str());
	} else if (iv->isIntList()) {
		c->kind = PTS_C_INTS;
		auto l = iv->toIntVector();
		c->n = l.size();
		c->ints = keep_i64(m, std::move(l));
	} else if (iv->isDoubleList()) {
		c->kind = PTS_C_FLOATS;
		auto l = iv->toDoubleVector();
		c->n = l.size();
		c->floats = keep_f64(m, std::move(l));
	} else if (iv->isBoolList()) {
		c->kind = PTS_C_BOOLS;
		std::vector<int64_t> b;
		for (bool x : iv->toBoolList())
			b.push_back(x);
		c->n = b.size();
		c->ints = keep_i64(m, std::move(b));
	} else if (iv->isTensor()) {
		c->kind = PTS_C_TENSOR;
		fill_tensor(m, iv->toTensor(), &c->t);
	} else if (iv->isList() &&
		   iv->type()->cast<c10::ListType>()->getElementType()->kind() ==
			   c10::StringType::Kind) {
		c->kind = PTS_C_STRINGS;
		std::vector<const char *> sv;
		for (const c10::IValue &e : iv->toListRef())
			sv.push_back(keep_str(m, e.toStringRef()));
		c->n = sv.size();
		m->strv.push_back(std::move(sv));
		c->strs = m->strv.back().data();
	} else {
		c->kind = PTS_C_OTHER;
	}
	return c;
}

uint32_t add_value(pts_model *m, const Value *v)
{
	auto it = m->index.find(v);
	if (it != m->index.end())
		return it->second;
	pts_value pv{};
	pv.name = keep_str(m, v->debugName());
	const auto &t = v->type();
	pv.kind = vkind_of(t);
	pv.rank = -1;
	if (pv.kind == PTS_V_TENSOR) {
		auto tt = t->expect<c10::TensorType>();
		if (auto st = tt->scalarType())
			pv.dtype = dtype_of(*st);
		if (auto d = tt->dim())
			pv.rank = (int)*d;
	} else if (pv.kind == PTS_V_LIST) {
		pv.elem = vkind_of(t->expect<c10::ListType>()->getElementType());
	} else if (pv.kind == PTS_V_OPTIONAL) {
		pv.elem = vkind_of(t->expect<c10::OptionalType>()->getElementType());
	}
	if (v->node()->kind() == c10::prim::Constant)
		pv.konst = const_of(m, torch::jit::toIValue(v));
	uint32_t id = (uint32_t)m->values.size();
	m->values.push_back(pv);
	m->index.emplace(v, id);
	return id;
}

std::vector<uint32_t> value_ids(pts_model *m, at::ArrayRef<const Value *> vs)
{
	std::vector<uint32_t> r;
	r.reserve(vs.size());
	for (const Value *v : vs)
		r.push_back(add_value(m, v));
	return r;
}

void fill_attrs(pts_model *m, const Node *n, pts_node *pn)
{
	auto names = n->attributeNames();
	if (names.empty())
		return;
	std::vector<pts_attr> as;
	for (auto sym : names) {
		pts_attr a{};
		a.name = keep_str(m, sym.toUnqualString());
		switch (n->kindOf(sym)) {
		case torch::jit::AttributeKind::i:
			a.kind = PTS_A_INT;
			a.i = n->i(sym);
			break;
		case torch::jit::AttributeKind::f:
			a.kind = PTS_A_FLOAT;
			a.f = n->f(sym);
			break;
		case torch::jit::AttributeKind::s:
			a.kind = PTS_A_STRING;
			a.s = keep_str(m, n->s(sym));
			break;
		case torch::jit::AttributeKind::is:
			a.kind = PTS_A_INTS;
			a.n = n->is(sym).size();
			a.ints = keep_i64(m, n->is(sym));
			break;
		case torch::jit::AttributeKind::fs:
			a.kind = PTS_A_FLOATS;
			a.n = n->fs(sym).size();
			a.floats = keep_f64(m, n->fs(sym));
			break;
		case torch::jit::AttributeKind::ss: {
			std::vector<const char *> sv;
			for (const auto &s : n->ss(sym))
				sv.push_back(keep_str(m, s));
			a.kind = PTS_A_STRINGS;
			a.n = sv.size();
			m->strv.push_back(std::move(sv));
			a.strings = m->strv.back().data();
			break;
		}
		case torch::jit::AttributeKind::t:
			a.kind = PTS_A_TENSOR;
			fill_tensor(m, n->t(sym), &a.t);
			break;
		default:
			a.kind = PTS_A_OTHER;
			break;
		}
		as.push_back(a);
	}
	pn->n_attrs = (uint32_t)as.size();
	m->attrs.push_back(std::move(as));
	pn->attrs = m->attrs.back().data();
}

// "file:line:col" of a source range, mapped back to the user's Python
// where the archive kept it; empty when unknown.
std::string location(torch::jit::SourceRange r, std::string *file)
{
	// The archive's debug records are read lazily, here: a corrupt one
	// costs the location, not the conversion.
	try {
		if (auto orig = r.findSourceRangeThatGenerated())
			r = *orig;
	} catch (...) {
	}
	auto flc = r.file_line_col();
	if (!flc || std::get<0>(*flc).empty())
		return "";
	*file = std::get<0>(*flc);
	return *file + ":" + std::to_string(std::get<1>(*flc)) + ":" +
	       std::to_string(std::get<2>(*flc));
}

// PyTorch's own Python (torch/nn/functional.py, ...) and generated code
// are where an op is implemented, not where the model uses it.
bool library_file(const std::string &f)
{
	return f.find("/torch/") != std::string::npos || f == "<string>" ||
	       f.compare(0, 5, "code/") == 0;
}

// Where a node comes from: the innermost frame of its inlined call stack
// that is the model's code rather than PyTorch's.
const char *source_of(pts_model *m, const Node *n)
{
	std::vector<torch::jit::SourceRange> frames{ n->sourceRange() };
	if (auto cs = n->callstack()) {
		auto v = (*cs)->vec(); // outermost call first
		for (auto it = v.rbegin(); it != v.rend(); ++it)
			frames.push_back(std::get<1>(*it));
	}
	std::string first;
	for (const auto &r : frames) {
		std::string file, loc = location(r, &file);
		if (loc.empty())
			continue;
		if (!library_file(file))
			return keep_str(m, loc);
		if (first.empty())
			first = loc;
	}
	return first.empty() ? nullptr : keep_str(m, first);
}

// ---- aten ----
// The innermost module call a node was inlined from. Each frame of the
// node's InlinedCallStack (outermost first) that called a method of a
// module instance is one level; a frame calling another method of the
// same instance (libtorch names that instance "SELF") and frames calling
// plain functions are not module calls and add no level.
const pts_scope *scope_of(pts_model *m, const Node *n)
{
	auto cs = n->callstack();
	if (!cs)
		return nullptr;
	const pts_scope *scope = nullptr;
	for (const auto &frame : (*cs)->vec()) {
		const auto &info = std::get<2>(frame);
		if (!info || !info->class_type() || info->instance_name() == "SELF")
			continue;
		const auto &site = std::get<1>(frame);
		std::string type = info->class_type()->name() ?
					   info->class_type()->name()->qualifiedName() :
					   std::string("?");
		auto key = std::make_tuple(scope, info->instance_name(), type,
					   (const void *)site.source().get(),
					   site.start());
		auto it = m->scope_index.find(key);
		if (it != m->scope_index.end()) {
			scope = it->second;
			continue;
		}
		pts_scope ps{};
		ps.type = keep_str(m, type);
		ps.name = keep_str(m, info->instance_name());
		ps.parent = scope;
		ps.id = (uint32_t)m->scopes.size();
		m->scopes.push_back(ps);
		scope = &m->scopes.back();
		m->scope_index.emplace(key, scope);
	}
	return scope;
}

// The argument type C reads, from the declared type; real_type() keeps
// ScalarType/Layout/MemoryFormat apart where type() says int.
int atype_of(const c10::TypePtr &t, const c10::TypePtr &real)
{
	switch (real->kind()) {
	case c10::TypeKind::ScalarTypeType: return PTS_T_SCALARTYPE;
	case c10::TypeKind::LayoutType: return PTS_T_LAYOUT;
	case c10::TypeKind::MemoryFormatType: return PTS_T_MEMFORMAT;
	default: break;
	}
	switch (t->kind()) {
	case c10::TypeKind::TensorType: return PTS_T_TENSOR;
	case c10::TypeKind::IntType:
	case c10::TypeKind::SymIntType: return PTS_T_INT;
	case c10::TypeKind::FloatType: return PTS_T_FLOAT;
	case c10::TypeKind::BoolType: return PTS_T_BOOL;
	case c10::TypeKind::StringType: return PTS_T_STR;
	case c10::TypeKind::NumberType: return PTS_T_SCALAR;
	case c10::TypeKind::DeviceObjType: return PTS_T_DEVICE;
	case c10::TypeKind::VarType:
	case c10::TypeKind::AnyType: return PTS_T_ANY;
	case c10::TypeKind::ListType: {
		const auto &e = t->expect<c10::ListType>()->getElementType();
		switch (e->kind()) {
		case c10::TypeKind::TensorType: return PTS_T_TENSORS;
		case c10::TypeKind::IntType:
		case c10::TypeKind::SymIntType: return PTS_T_INTS;
		case c10::TypeKind::FloatType: return PTS_T_FLOATS;
		case c10::TypeKind::BoolType: return PTS_T_BOOLS;
		case c10::TypeKind::StringType: return PTS_T_STRS;
		case c10::TypeKind::OptionalType:
			if (e->expect<c10::OptionalType>()->getElementType()->kind() ==
			    c10::TypeKind::TensorType)
				return PTS_T_OPT_TENSORS;
			return PTS_T_LIST;
		default: return PTS_T_LIST;
		}
	}
	default: return PTS_T_OTHER;
	}
}

// Optional[T] -> T; anything else as it is.
c10::TypePtr unwrap_optional(const c10::TypePtr &t, int *optional)
{
	*optional = t->kind() == c10::TypeKind::OptionalType;
	return *optional ? t->expect<c10::OptionalType>()->getElementType() : t;
}

// The node's schema, interned: made on the first node of an overload, then
// shared (a model has many nodes and few distinct schemas).
const pts_schema *schema_of(pts_model *m, const Node *n)
{
	const c10::FunctionSchema *fs = nullptr;
	try {
		fs = n->maybeSchema();
	} catch (const std::bad_alloc &) {
		throw;
	} catch (...) {
		return nullptr; // no schema is what C expects of such nodes
	}
	if (!fs)
		return nullptr;
	auto found = m->schema_index.find(fs);
	if (found != m->schema_index.end())
		return found->second;
	std::vector<pts_arg> as;
	for (const c10::Argument &a : fs->arguments()) {
		pts_arg pa{};
		pa.name = keep_str(m, a.name());
		int opt_real = 0;
		c10::TypePtr t = unwrap_optional(a.type(), &pa.optional);
		c10::TypePtr real = unwrap_optional(a.real_type(), &opt_real);
		pa.type = atype_of(t, real);
		pa.kwarg_only = a.kwarg_only();
		pa.list_len = a.N() ? (int)*a.N() : 0;
		if (a.default_value())
			pa.deflt = const_of(m, a.default_value());
		as.push_back(pa);
	}
	pts_schema ps{};
	ps.name = keep_str(m, fs->name());
	ps.overload = keep_str(m, fs->overload_name());
	ps.n_args = (uint32_t)as.size();
	m->args.push_back(std::move(as));
	ps.args = m->args.back().data();
	ps.vararg = fs->is_vararg();
	m->schemas.push_back(ps);
	const pts_schema *r = &m->schemas.back();
	m->schema_index.emplace(fs, r);
	return r;
}

void fill_block(pts_model *m, const Block *b, pts_block *pb);

// ---- knobs ----
// A frozen constant named after a parameter or buffer (freeze_attributes
// names them "self." + the state_dict key) is recorded as its value.
void note_param(pts_model *m, const Value *v, uint32_t id)
{
	if (!v->hasDebugName())
		return;
	auto found = m->param_index.find(v->debugName());
	if (found != m->param_index.end() &&
	    m->param_values[found->second] == UINT32_MAX)
		m->param_values[found->second] = id;
}

// The module path of the call that Inline brought n from: the instance
// names of the inlined module calls, outermost first, joined by '.'
// ("layer1.0.conv1"); "" for forward()'s own nodes.
const char *scope_path_of(pts_model *m, const Node *n)
{
	auto cs = n->callstack();
	if (!cs)
		return "";
	std::string path;
	for (const auto &e : (*cs)->vec()) {
		const auto &info = std::get<torch::jit::kModuleInstanceInfo>(e);
		if (!info)
			continue;
		std::string name = info->instance_name();
		// SELF: a call of another method of the same module.
		if (name.empty() || name == "self" || name == "SELF")
			continue;
		path += (path.empty() ? "" : ".") + name;
	}
	return keep_str(m, path);
}

// Parameters then buffers of each module, then its submodules in order:
// the order of Python's state_dict() (and of the class type's slots,
// which scripting fills from _parameters, _buffers, _modules).
void collect_params(pts_model *m, const c10::intrusive_ptr<c10::ivalue::Object> &obj,
		    const std::string &prefix)
{
	const auto &type = obj->type();
	size_t n = type->numAttributes();
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			bool want = pass == 0 ? type->is_parameter(i) :
						!type->is_parameter(i) &&
							type->is_buffer(i);
			if (!want || !obj->getSlot(i).isTensor())
				continue;
			std::string key = prefix + type->getAttributeName(i);
			m->param_index.emplace("self." + key,
					       m->param_names.size());
			m->param_names.push_back(keep_str(m, key));
			m->param_values.push_back(UINT32_MAX);
		}
	for (size_t i = 0; i < n; i++) {
		c10::IValue v = obj->getSlot(i);
		if (v.isObject() && type->getAttribute(i)->is_module())
			collect_params(m, v.toObject(),
				       prefix + type->getAttributeName(i) + ".");
	}
}

void fill_node(pts_model *m, const Node *n, pts_node *pn)
{
	pn->kind = keep_str(m, n->kind().toQualString());
	auto in = value_ids(m, n->inputs());
	auto out = value_ids(m, n->outputs());
	pn->n_in = (uint32_t)in.size();
	pn->n_out = (uint32_t)out.size();
	pn->in = keep_idx(m, std::move(in));
	pn->out = keep_idx(m, std::move(out));
	fill_attrs(m, n, pn);
	pn->source = source_of(m, n);
	auto al = m->aliased.find(n);
	if (al != m->aliased.end())
		pn->aliased_read = keep_str(m, al->second);
	pn->schema = schema_of(m, n);
	pn->scope = scope_of(m, n); /* ---- aten ---- */
	if (!n->blocks().empty()) {
		std::vector<pts_block> bs(n->blocks().size());
		for (size_t i = 0; i < bs.size(); i++)
			fill_block(m, n->blocks()[i], &bs[i]);
		pn->n_blocks = (uint32_t)bs.size();
		m->blocks.push_back(std::move(bs));
		pn->blocks = m->blocks.back().data();
	}
}

void fill_block(pts_model *m, const Block *b, pts_block *pb)
{
	auto in = value_ids(m, b->inputs());
	pb->n_in = (uint32_t)in.size();
	pb->in = keep_idx(m, std::move(in));
	std::vector<pts_node> ns;
	std::vector<const Node *> tn; // each ns[i]'s libtorch node
	for (const Node *n : b->nodes()) {
		if (n->kind() == c10::prim::Constant) {
			uint32_t id = add_value(m, n->output());
			note_param(m, n->output(), id);
			continue;
		}
		pts_node pn{};
		fill_node(m, n, &pn);
		ns.push_back(pn);
		tn.push_back(n);
	}
	pb->n_nodes = (uint32_t)ns.size();
	m->nodes.push_back(std::move(ns));
	pb->nodes = m->nodes.back().data();
	for (size_t k = 0; k < tn.size(); k++) {
		m->torch_node.emplace(&pb->nodes[k], tn[k]); // ---- aten ----
		m->scope_paths.emplace(&pb->nodes[k], scope_path_of(m, tn[k])); // ---- knobs ----
	}
	auto out = value_ids(m, b->outputs());
	pb->n_out = (uint32_t)out.size();
	pb->out = keep_idx(m, std::move(out));
}

// The first line of a libtorch message, without its C++ backtrace.
std::string first_line(const char *what)
{
	std::string s(what ? what : "unknown error");
	// Some messages start with a newline (a Python-style traceback).
	s.erase(0, s.find_first_not_of(" \r\n"));
	if (s.empty())
		return "unknown error";
	auto nl = s.find('\n');
	if (nl != std::string::npos)
		s.resize(nl);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\r'))
		s.pop_back();
	return s;
}

void set_err(char *err, size_t errlen, std::string msg)
{
	// A message must say something: a reason libtorch left empty is
	// named as such rather than printed as nothing after a colon.
	auto end = msg.find_last_not_of(" \t\r\n");
	msg.resize(end == std::string::npos ? 0 : end + 1);
	if (msg.empty())
		msg = "libtorch failed and gave no reason";
	else if (msg.back() == ':')
		msg += " (libtorch gave no reason)";
	if (err && errlen)
		std::snprintf(err, errlen, "%s", msg.c_str());
}

// What the archive tells of its writer, for a message: "file format
// version 3, .data/version 3; this libtorch 1.13.1 reads up to 10".
std::string producer_of(const archive_info &ai)
{
	std::string s;
	auto add = [&](const std::string &part) {
		s += (s.empty() ? "" : ", ") + part;
	};
	if (!ai.version.empty())
		add("file format version " + ai.version);
	if (!ai.data_version.empty())
		add(".data/version " + ai.data_version);
	if (ai.bytecode >= 0)
		add("bytecode version " + std::to_string(ai.bytecode));
	if (!ai.newer_records.empty())
		add("records of PyTorch 2.x: " + ai.newer_records);
	if (s.empty())
		s = "no version record";
	return "archive: " + s + "; libtorch in use: " TORCH_VERSION ","
	       " which reads file format versions up to " +
	       std::to_string(caffe2::serialize::kMaxSupportedFileFormatVersion) +
	       "";
}

// The text after `key` up to the first character not in an identifier
// or qualified name ("aten::foo.bar" stops at the '.').
std::string name_after(const std::string &msg, size_t at)
{
	size_t e = at;
	while (e < msg.size() && (isalnum((unsigned char)msg[e]) ||
				  msg[e] == '_' || msg[e] == ':'))
		e++;
	return msg.substr(at, e - at);
}

// The source line a TorchScript compile error points at ("<--- HERE"
// underlines it), with its file and line, or "".
std::string error_call(const std::string &msg)
{
	size_t here = msg.find("<--- HERE");
	if (here == std::string::npos)
		return "";
	size_t ul = msg.rfind('\n', here);      // the underline's line start
	if (ul == std::string::npos || ul == 0)
		return "";
	size_t cs = msg.rfind('\n', ul - 1);    // the call's line start
	std::string call = msg.substr(cs == std::string::npos ? 0 : cs + 1,
				      ul - (cs == std::string::npos ? 0 : cs + 1));
	call.erase(0, call.find_first_not_of(" \t"));
	if (call.size() > 160)
		call = call.substr(0, 157) + "...";
	std::string where;
	size_t f = msg.rfind("File \"", here);
	if (f != std::string::npos) {
		size_t q = msg.find('"', f + 6), l = msg.find(", line ", f);
		if (q != std::string::npos && l != std::string::npos && l < here)
			where = " (" + msg.substr(f + 6, q - f - 6) + ":" +
				name_after(msg, l + 7) + ")";
	}
	return "'" + call + "'" + where;
}

// TorchScript's message for a call to an op with one overload that does
// not match: the schema alone on its first line, ending in ':'.
bool single_overload_mismatch(const std::string &full)
{
	std::string line = first_line(full.c_str());
	size_t sep = line.find("::"), paren = line.find('(');
	return sep != std::string::npos && paren != std::string::npos &&
	       sep < paren && line.find(' ') > sep && line.back() == ':' &&
	       line.find(") -> ") != std::string::npos;
}

// A load failure caused by something newer than this libtorch — an op it
// does not know, an overload or argument it lacks, a newer file format —
// becomes PTS_E_UNSUPPORTED (a valid model this build cannot read) with a
// message naming it and the archive's version records; anything else is
// left to the caller (returns false).
bool explain_newer(const std::string &full, const archive_info &ai,
		   std::string *msg)
{
	std::string what;
	size_t k;
	if ((k = full.find("Unknown builtin op: ")) != std::string::npos) {
		std::string op = name_after(full, k + 20);
		what = "the archive calls " + op + ", an op libtorch " TORCH_VERSION
		       " does not have (written by a newer PyTorch?); pt2onnx "
		       "registers the ops PyTorch 2.0-2.6 added, this one is "
		       "not among them";
	} else if ((k = full.find("Unknown builtin op")) != std::string::npos ||
		   (k = full.find("Unknown type name")) != std::string::npos) {
		what = "the archive uses what libtorch " TORCH_VERSION
		       " does not know: " + first_line(full.c_str() + k);
	} else if (single_overload_mismatch(full)) {
		// One overload only: its schema, then why the call fails.
		std::string line = first_line(full.c_str());
		std::string op = line.substr(0, line.find('('));
		size_t nl = full.find(line) + line.size();
		what = "the archive calls " + op + " with arguments libtorch "
		       TORCH_VERSION " does not take (an argument a newer "
		       "PyTorch added?)";
		std::string call = error_call(full);
		if (!call.empty())
			what += ": " + call;
		std::string why = first_line(full.c_str() + nl);
		if (why != "unknown error")
			what += ": " + why;
	} else if (full.find("Arguments for call are not valid") !=
		   std::string::npos) {
		size_t v = full.find("variants are available:");
		std::string op;
		if (v != std::string::npos) {
			size_t a = full.find("::", v);
			size_t b = a == std::string::npos ? a :
				   full.find_last_of(" \n", a);
			if (b != std::string::npos)
				op = name_after(full, b + 1);
		}
		// Why the first variant did not match: the line after its
		// schema.
		std::string why;
		size_t s1 = v == std::string::npos ? v : full.find("::", v);
		if (s1 != std::string::npos)
			s1 = full.find('\n', s1);
		if (s1 != std::string::npos)
			why = first_line(full.c_str() + s1);
		what = "the archive calls " + (op.empty() ? "an op" : op) +
		       " with arguments no overload of it in libtorch "
		       TORCH_VERSION " takes (an argument a newer PyTorch added?)";
		std::string call = error_call(full);
		if (!call.empty())
			what += ": " + call;
		if (!why.empty() && why != "unknown error")
			what += ": " + why;
	} else if ((k = full.find("Attempted to read a PyTorch file with version ")) !=
		   std::string::npos) {
		what = "the archive's file format version " +
		       name_after(full, k + 46) +
		       " is newer than libtorch " TORCH_VERSION " reads";
	} else {
		return false;
	}
	*msg = what + " (" + producer_of(ai) + ")";
	return true;
}

// Freezing: every prim::GetAttr chain rooted at `self` becomes the
// attribute's current value, as a constant (tensors detached, never
// copied). libtorch's freeze_module does this and then runs the whole
// graph-executor optimization pipeline, whose constant pooling compares
// every pair of same-shaped weights: quadratic, minutes on a deep MLP.
// What the converter needs of it is this substitution; the passes of
// canonicalize() do the rest.
// How many frozen constants look at each tensor storage: a weight may be
// scaled in place only when it is the storage's one user.
using storage_users = std::unordered_map<const c10::StorageImpl *, int>;

void freeze_attributes(torch::jit::Graph &g, const torch::jit::Module &mod,
		       storage_users &users)
{
	struct owner {
		c10::intrusive_ptr<c10::ivalue::Object> obj;
		std::string path; // "self.layer1.0.conv1", for constant names
	};
	std::unordered_map<const Value *, owner> objects;
	objects.emplace(g.inputs()[0], owner{ mod._ivalue(), "self" });
	// One constant per tensor (a shared weight is one initializer), made
	// at the top of the graph so that it dominates every use.
	std::unordered_map<const c10::TensorImpl *, Value *> tensors;
	// The constant of tensor t (named path when new), or nullptr.
	auto tensor_const = [&](const at::Tensor &v,
				const std::string &path) -> Value * {
		const c10::TensorImpl *ti = v.unsafeGetTensorImpl();
		auto seen = tensors.find(ti);
		if (seen != tensors.end())
			return seen->second;
		at::Tensor t = v.detach();
		// At the top of the graph, looked up now: the loop destroys
		// only the node it is at, and only after this insertion.
		torch::jit::WithInsertPoint guard(g.block()->nodes().front());
		auto made = torch::jit::tryInsertConstant(g, t);
		if (!made)
			return nullptr;
		Value *c = *made;
		c->setDebugName(path);
		tensors.emplace(ti, c);
		if (t.has_storage())
			users[t.storage().unsafeGetStorageImpl()]++;
		return c;
	};
	std::vector<Block *> todo{ g.block() };
	while (!todo.empty()) {
		Block *b = todo.back();
		todo.pop_back();
		for (auto it = b->nodes().begin(); it != b->nodes().end();) {
			Node *n = *it++;
			for (Block *sub : n->blocks())
				todo.push_back(sub);
			if (n->kind() != c10::prim::GetAttr)
				continue;
			auto found = objects.find(n->input(0));
			if (found == objects.end())
				continue;
			const std::string &name = n->s(c10::attr::name);
			const owner &o = found->second;
			if (!o.obj->type()->hasAttribute(name))
				continue;
			c10::IValue v = o.obj->getAttr(name);
			std::string path = o.path + "." + name;
			if (v.isObject()) {
				objects.emplace(n->output(),
						owner{ v.toObject(), path });
				continue;
			}
			Value *c = nullptr;
			if (v.isTensor()) {
				c = tensor_const(v.toTensor(), path);
				if (!c)
					continue;
			} else if (v.isTensorList()) {
				// An RNN's _flat_weights: a list of its own
				// weights. As one Tensor[] constant the
				// converter could not see the tensors (nor
				// share them with their own attributes), so
				// it becomes a list of one constant each.
				std::vector<Value *> items;
				auto l = v.toTensorList();
				for (size_t i = 0; i < l.size(); i++) {
					Value *t = tensor_const(
						l.get(i), path + "." + std::to_string(i));
					if (!t)
						break;
					items.push_back(t);
				}
				if (items.size() != l.size())
					continue;
				torch::jit::WithInsertPoint guard(n);
				Node *lc = g.insertNode(g.createList(
					c10::TensorType::get(), items));
				c = lc->output();
			} else {
				torch::jit::WithInsertPoint guard(n);
				auto made = torch::jit::tryInsertConstant(g, v);
				if (!made)
					continue; // left as it is: reported if used
				c = *made;
			}
			n->output()->replaceAllUsesWith(c);
			n->destroy();
		}
	}
}

// A valid model that does what an exported graph cannot (not a load error).
struct unsupported_model : std::runtime_error {
	using std::runtime_error::runtime_error;
};

// After constant propagation, what freezing could not settle: forward()
// assigning a module attribute, or calling what was not inlined.
std::string unfrozen(const torch::jit::Block *b)
{
	for (const Node *n : b->nodes()) {
		if (n->kind() == c10::prim::SetAttr)
			return "forward() assigns the module attribute '" +
			       n->s(c10::attr::name) + "'; pt2onnx exports a "
			       "fixed snapshot of the module";
		for (const Block *sub : n->blocks()) {
			std::string why = unfrozen(sub);
			if (!why.empty())
				return why;
		}
	}
	return "";
}

bool is_conv(const Node *n)
{
	auto k = n->kind();
	if (k == c10::aten::conv1d || k == c10::aten::conv2d ||
	    k == c10::aten::conv3d)
		return true;
	if (k == c10::aten::_convolution || k == c10::aten::convolution) {
		auto tr = torch::jit::constant_as<bool>(n->input(6));
		return tr && !*tr; // not transposed
	}
	return false;
}

c10::optional<at::Tensor> const_tensor(const Value *v)
{
	auto iv = torch::jit::toIValue(v);
	if (!iv || !iv->isTensor())
		return c10::nullopt;
	return iv->toTensor();
}

bool is_none(const Value *v)
{
	auto iv = torch::jit::toIValue(v);
	return iv && iv->isNone();
}

// Whether every use of v but `except` only reads v's shape (scripted
// BatchNorm checks input.dim()), which folding leaves unchanged.
bool only_shape_uses_besides(const Value *v, const Node *except)
{
	for (const auto &use : v->uses()) {
		auto k = use.user->kind();
		if (use.user != except && k != c10::aten::dim &&
		    k != c10::aten::size)
			return false;
	}
	return true;
}

// Folds eval-mode batch_norm into the convolution feeding it, as PyTorch's
// exporter does: W[o] *= g[o] / sqrt(var[o] + eps), b' = (b - mean) * s + beta.
// Unlike libtorch's own pass, the weight is scaled in place when nothing
// else refers to it: no second copy of every convolution weight.
void fold_conv_bn(torch::jit::Graph &g, const storage_users &users)
{
	std::vector<Node *> bns;
	for (Node *n : g.nodes())
		if (n->kind() == c10::aten::batch_norm)
			bns.push_back(n);
	for (Node *bn : bns) {
		Node *conv = bn->input(0)->node();
		if (!is_conv(conv) || !only_shape_uses_besides(conv->output(), bn))
			continue;
		auto training = torch::jit::constant_as<bool>(bn->input(5));
		auto eps = torch::jit::constant_as<double>(bn->input(7));
		auto w = const_tensor(conv->input(1));
		auto mean = const_tensor(bn->input(3));
		auto var = const_tensor(bn->input(4));
		if (!training || *training || !eps || !w || !mean || !var ||
		    !w->is_floating_point() || w->dim() < 3 || !w->device().is_cpu())
			continue;
		auto gamma = const_tensor(bn->input(1));
		auto beta = const_tensor(bn->input(2));
		auto bias = const_tensor(conv->input(2));
		// Optional arguments: a constant tensor, or None.
		if ((!gamma && !is_none(bn->input(1))) ||
		    (!beta && !is_none(bn->input(2))) ||
		    (!bias && !is_none(conv->input(2))))
			continue;
		auto opts = w->options();
		at::Tensor scale = var->to(opts).add(*eps).rsqrt();
		if (gamma)
			scale.mul_(gamma->to(opts));
		at::Tensor b = bias ? bias->to(opts) : at::zeros_like(scale);
		b = (b - mean->to(opts)) * scale;
		if (beta)
			b.add_(beta->to(opts));
		std::vector<int64_t> shape(w->dim(), 1);
		shape[0] = -1;
		// In place only when this conv alone reads the weight and the
		// tensor owns its whole storage; otherwise a new constant.
		auto u = w->has_storage() ?
				 users.find(w->storage().unsafeGetStorageImpl()) :
				 users.end();
		bool own = conv->input(1)->uses().size() == 1 &&
			   u != users.end() && u->second == 1 &&
			   w->is_contiguous() && w->storage_offset() == 0 &&
			   w->storage().nbytes() == w->nbytes();
		torch::jit::WithInsertPoint guard(conv);
		// Folded constants are named after the weight ("x.weight" ->
		// "x.weight_bn", "x.bias_bn") for readable initializers.
		std::string wn = conv->input(1)->debugName(), base = wn;
		if (wn.size() > 7 && wn.compare(wn.size() - 7, 7, ".weight") == 0)
			base = wn.substr(0, wn.size() - 7);
		if (own) {
			w->mul_(scale.view(shape));
		} else {
			Value *nw = g.insertConstant(w->mul(scale.view(shape)));
			nw->setDebugName(wn + "_bn");
			conv->replaceInput(1, nw);
		}
		Value *nb = g.insertConstant(b);
		nb->setDebugName(base + ".bias_bn");
		conv->replaceInput(2, nb);
		bn->output()->replaceAllUsesWith(conv->output());
		bn->destroy();
	}
}

// In-place writes that stay after RemoveTensorMutation are converted in C
// by rebinding the written value to the result. That is right only when no
// other value sharing the written memory (a view of it, the tensor it is a
// view of, a slice) is read after the write: such a reader would see the
// old data in the ONNX model and the new data in PyTorch.
//
// Memory is tracked by "base": a node output annotated as aliasing one of
// its inputs (Tensor(a) self -> Tensor(a), per the op's schema) has that
// input's base; an output that may alias anything (a wildcard, an If or
// Loop result whose branches disagree) has the wildcard base; any other
// value is its own base. Graph inputs are distinct bases: ONNX inputs are
// separate tensors. Linear in the graph's size per remaining write, and
// remaining writes are few.
class alias_writes {
public:
	explicit alias_writes(torch::jit::Block *top)
	{
		walk(top);
		for (const auto &w : writes_)
			check(w.first, w.second);
	}
	// The writes found unsafe, each with one value read later that shares
	// its memory.
	std::unordered_map<const Node *, std::string> bad;

private:
	const Value *const wildcard_ = nullptr;
	std::unordered_map<const Value *, const Value *> base_;
	// A part of a split tensor: the whole's base (see splits()).
	std::unordered_map<const Value *, const Value *> part_of_;
	std::unordered_map<const Node *, size_t> order_;
	std::vector<std::pair<Node *, const Value *>> writes_;
	// Every read, in execution order: (position, user, value).
	std::vector<std::tuple<size_t, const Node *, const Value *>> reads_;
	size_t pos_ = 0;

	const Value *base(const Value *v)
	{
		auto it = base_.find(v);
		return it == base_.end() ? v : it->second;
	}

	void reads(const Node *n)
	{
		for (const Value *in : n->inputs())
			reads_.emplace_back(pos_, n, in);
	}

	void walk(torch::jit::Block *b)
	{
		for (Node *n : b->nodes()) {
			order_[n] = pos_++;
			reads(n);
			for (torch::jit::Block *sub : n->blocks())
				walk(sub);
			if (n->kind() == c10::prim::If && n->blocks().size() == 2) {
				for (size_t k = 0; k < n->outputs().size(); k++) {
					const Value *a = base(n->blocks()[0]->outputs()[k]);
					const Value *c = base(n->blocks()[1]->outputs()[k]);
					if (a != n->blocks()[0]->outputs()[k] ||
					    c != n->blocks()[1]->outputs()[k] || a == wildcard_)
						base_[n->outputs()[k]] = a == c ? a : wildcard_;
				}
			} else if (!n->blocks().empty()) {
				for (const Value *o : n->outputs())
					base_[o] = wildcard_;
			} else if (n->kind() == c10::prim::ListUnpack &&
				   splits(n->input(0)->node()) &&
				   n->input(0)->uses().size() == 1) {
				// Disjoint parts of one tensor (a trace of
				// nn.LSTMCell writes each gate's chunk in
				// place): each part its own memory, within
				// the whole; a write to one part conflicts
				// with reads of the whole, not of the others.
				const Value *whole =
					base(n->input(0)->node()->input(0));
				for (const Value *o : n->outputs())
					part_of_[o] = whole;
			} else if (n->kind() == c10::prim::ListUnpack ||
				   n->kind() == c10::prim::TupleUnpack ||
				   n->kind() == c10::prim::unchecked_cast) {
				for (const Value *o : n->outputs())
					base_[o] = base(n->input(0));
			} else if (auto *s = n->maybeSchema()) {
				annotate(n, *s);
			}
			pos_++;
		}
		// The block's results are read when it ends.
		reads(b->return_node());
		order_[b->return_node()] = pos_++;
	}

	// Ops whose list result holds disjoint parts of their first input.
	static bool splits(const Node *n)
	{
		auto k = n->kind();
		return k == c10::aten::chunk || k == c10::aten::split ||
		       k == c10::aten::split_with_sizes ||
		       k == c10::aten::unsafe_chunk ||
		       k == c10::aten::unsafe_split ||
		       k == c10::aten::unsafe_split_with_sizes ||
		       k == c10::aten::unbind;
	}

	const Value *part_of(const Value *v)
	{
		auto it = part_of_.find(v);
		return it == part_of_.end() ? nullptr : it->second;
	}

	void annotate(Node *n, const c10::FunctionSchema &s)
	{
		const auto &args = s.arguments();
		for (size_t i = 0; i < args.size() && i < n->inputs().size(); i++) {
			const c10::AliasInfo *ai = args[i].alias_info();
			if (ai && ai->isWrite() && n->input(i)->type()->kind() ==
							   c10::TypeKind::TensorType)
				writes_.emplace_back(n, n->input(i));
		}
		const auto &rets = s.returns();
		for (size_t j = 0; j < rets.size() && j < n->outputs().size(); j++) {
			const c10::AliasInfo *ro = rets[j].alias_info();
			if (!ro)
				continue;
			const Value *b = wildcard_;
			if (!ro->isWildcardBefore()) {
				for (size_t i = 0; i < args.size() && i < n->inputs().size(); i++) {
					const c10::AliasInfo *ai = args[i].alias_info();
					if (!ai)
						continue;
					for (auto set : ro->beforeSets())
						if (ai->beforeSets().count(set))
							b = base(n->input(i));
				}
			}
			base_[n->outputs()[j]] = b;
		}
	}

	void check(Node *w, const Value *v)
	{
		size_t at = order_[w];
		const Value *bv = base(v);
		for (const auto &r : reads_) {
			const Node *user = std::get<1>(r);
			const Value *u = std::get<2>(r);
			if (std::get<0>(r) <= at || user == w || u == v ||
			    !mutable_type(u))
				continue;
			// A value made after the write (its result, a view of it)
			// sees the new data in C as well.
			auto def = order_.find(u->node());
			if (def != order_.end() && def->second >= at)
				continue;
			const Value *bu = base(u);
			const Value *pu = part_of(bu), *pv = part_of(bv);
			if (bu == bv || bu == wildcard_ || bv == wildcard_ ||
			    (pv && (pv == bu || pv == wildcard_)) ||
			    (pu && (pu == bv || pu == wildcard_))) {
				bad[w] = u->debugName();
				return;
			}
		}
	}

	static bool mutable_type(const Value *u)
	{
		auto k = u->type()->kind();
		return k == c10::TypeKind::TensorType ||
		       k == c10::TypeKind::ListType ||
		       k == c10::TypeKind::TupleType ||
		       k == c10::TypeKind::OptionalType;
	}
};

// A write into a view of a local tensor, `x[:, 1:3] = y` or `x[0] = 5`,
// which TorchScript records as aten::copy_ (or fill_) into a chain of
// aten::slice/aten::select views of x, becomes functional here: the value
// is scattered back through the chain with aten::select_scatter and
// aten::slice_scatter (innermost view first), and every use of x after the
// write reads the new tensor. Only what can be rewritten exactly is: the
// write's result unused, each view of the chain read by nothing after the
// write, x not itself a view, and nothing before the write holding an alias
// of x (a view, a list) that could be read after it. Anything else stays,
// for alias_writes to refuse.
namespace {

bool is_view_link(const Node *n)
{
	return n->kind() == c10::aten::slice || n->kind() == c10::aten::select;
}

// Whether node n (a use of a value, before the write w) only reads it:
// an op with a schema whose results alias nothing and which writes nothing.
bool plain_read(const Node *n)
{
	const c10::FunctionSchema *s = n->maybeSchema();
	if (!s || !n->blocks().empty())
		return false;
	for (const auto &a : s->arguments())
		if (a.alias_info() && a.alias_info()->isWrite())
			return false;
	for (const auto &r : s->returns())
		if (r.alias_info())
			return false;
	return true;
}

// Every use of v other than `link` only reads it before w, or comes after
// w when after_ok (the base's later uses, which will read the new value).
bool reads_before_only(const Value *v, const Node *link, const Node *w,
		       bool after_ok)
{
	for (const auto &u : v->uses()) {
		if (u.user == link || u.user == w)
			continue;
		if (u.user->isBefore(w) ? !plain_read(u.user) : !after_ok)
			return false;
	}
	return true;
}

bool functionalize_write(torch::jit::Graph &g, Node *w)
{
	if (w->outputs().size() != 1 || w->output()->hasUses())
		return false;
	const c10::FunctionSchema *ws = w->maybeSchema();
	if (!ws || ws->arguments().empty() || !ws->arguments()[0].alias_info() ||
	    !ws->arguments()[0].alias_info()->isWrite())
		return false;
	std::vector<Node *> chain; // innermost view first
	Value *v = w->input(0);
	const Node *next = w;
	while (is_view_link(v->node())) {
		if (!reads_before_only(v, next, w, false))
			return false;
		chain.push_back(v->node());
		next = v->node();
		v = v->node()->input(0);
	}
	if (chain.empty() || v->node()->owningBlock() != w->owningBlock())
		return false;
	if (v->node()->kind() != c10::prim::Param) {
		const c10::FunctionSchema *s = v->node()->maybeSchema();
		if (!s)
			return false;
		for (const auto &r : s->returns())
			if (r.alias_info())
				return false;
	}
	if (!reads_before_only(v, next, w, true))
		return false;
	for (const Node *link : chain)
		if (link->inputs().size() !=
		    (link->kind() == c10::aten::slice ? 5u : 3u))
			return false;
	torch::jit::WithInsertPoint guard(w);
	Value *src;
	if (w->kind() == c10::aten::copy_ || w->kind() == c10::aten::fill_) {
		src = w->input(1);
		// A number written (fill_, or `x[0] = 5`'s aten::tensor(5,
		// dtype of the view, ...)) goes in as a 0-dim tensor: the
		// scatter casts it to the destination's dtype as copy_ does.
		Node *sn = src->node();
		if (sn->kind() == c10::aten::tensor && sn->inputs().size() == 4 &&
		    sn->input(0)->type()->isSubtypeOf(*c10::NumberType::get()))
			src = sn->input(0);
		bool number = src->type()->isSubtypeOf(*c10::NumberType::get()) ||
			      src->type()->kind() == c10::TypeKind::BoolType;
		if (!number && src->type()->kind() != c10::TypeKind::TensorType)
			return false;
		if (number) {
			Node *t = g.insertNode(g.create(c10::prim::NumToTensor,
							{ src }, 1));
			t->output()->setType(c10::TensorType::get());
			src = t->output();
		}
	} else {
		// Another in-place op (`x[:, 0].add_(1)`, `x[:, i] = v`'s
		// index_put_): its functional form computes the view's new
		// value from the old one.
		std::string name = w->kind().toUnqualString();
		Node *fn = g.create(c10::Symbol::aten(name.substr(0, name.size() - 1)),
				    w->inputs(), 1);
		if (!fn->maybeSchema()) {
			fn->destroy();
			return false;
		}
		g.insertNode(fn);
		fn->output()->setType(w->output()->type());
		fn->setSourceRange(w->sourceRange());
		src = fn->output();
	}
	for (Node *link : chain) {
		Node *sc;
		if (link->kind() == c10::aten::slice)
			sc = g.create(c10::aten::slice_scatter,
				      { link->input(0), src, link->input(1),
					link->input(2), link->input(3),
					link->input(4) }, 1);
		else
			sc = g.create(c10::aten::select_scatter,
				      { link->input(0), src, link->input(1),
					link->input(2) }, 1);
		g.insertNode(sc);
		sc->output()->setType(link->input(0)->type());
		sc->setSourceRange(w->sourceRange());
		src = sc->output();
	}
	v->replaceAllUsesAfterNodeWith(w, src);
	w->destroy();
	return true;
}

void functionalize_view_writes(torch::jit::Graph &g, Block *b)
{
	std::vector<Node *> writes;
	for (Node *n : b->nodes()) {
		for (Block *sub : n->blocks())
			functionalize_view_writes(g, sub);
		// copy_/fill_, or any aten op writing its first argument in
		// place (name ending in _), which functionalize_write checks.
		const std::string name = n->kind().is_aten() ?
					 n->kind().toUnqualString() : "";
		if (name.size() > 1 && name.back() == '_' && n->inputs().size() &&
		    n->outputs().size() == 1)
			writes.push_back(n);
	}
	for (Node *w : writes)
		functionalize_write(g, w);
}

} // namespace

// ---- operators of newer PyTorch ---------------------------------------------
//
// An archive written by PyTorch 2.x calls ops that libtorch 1.13 lacks
// (aten::scaled_dot_product_attention, ...), and TorchScript compiles the
// archive's code against the registered schemas: an unknown name fails the
// load. pt2onnx converts these ops and never runs them, so their schemas
// are registered here with an operation that throws. The list is data,
// generated from PyTorch 2.6's schema registry by scripts/aten2x.py.
// Constant propagation runs an op whose inputs are all constants and keeps
// the node when it throws, which is what these need.

// A row: the schema, and for an argument a newer PyTorch appended to an op
// this libtorch has, how many leading arguments the old overload has
// (-1 for an op this libtorch lacks altogether).
struct newer_schema {
	const char *schema;
	int shared;
};

const newer_schema newer_schemas[] = {
#define P2O_SCHEMA(s) { s, -1 },
#define P2O_SCHEMA_ARGS(s, n) { s, n },
#include "aten2x.def"
#undef P2O_SCHEMA
#undef P2O_SCHEMA_ARGS
};

// The overload name under which an op's newer arguments are registered
// beside the old overload (see register_newer_ops).
const char *const NEWER_ARGS_SUFFIX = "_p2o_newer_args";

// A registered newer-argument overload: how many leading arguments the
// old overload takes, and the schema as PyTorch wrote it (with defaults).
struct newer_overload {
	size_t shared;
	c10::FunctionSchema full;
};

// Keyed by "aten::op.overload_p2o_newer_args".
std::unordered_map<std::string, newer_overload> &newer_args()
{
	static std::unordered_map<std::string, newer_overload> m;
	return m;
}

bool has_overload(const c10::FunctionSchema &s)
{
	for (const auto &op : torch::jit::getAllOperatorsFor(
		     c10::Symbol::fromQualString(s.name())))
		if (op->schema().overload_name() == s.overload_name())
			return true;
	return false;
}

// Registers each row's schema with an operation that throws. A row with
// arguments appended to an existing overload is registered under its own
// overload name with those arguments made required, so that only a call
// passing them resolves to it (every other call keeps the old overload);
// fold_newer_args() then takes them out again when they hold their
// defaults, and refuses the model otherwise.
void register_newer_ops()
{
	for (const auto &row : newer_schemas) {
		try {
			auto schema = torch::jit::parseSchema(row.schema);
			// A libtorch that has the op already (a newer one,
			// built with LIBTORCH=) keeps its own.
			if (has_overload(schema) && row.shared < 0)
				continue;
			std::string name = schema.name();
			auto args = schema.arguments();
			if (row.shared >= 0) {
				if (!has_overload(schema) ||
				    (size_t)row.shared >= args.size())
					continue; // libtorch has them already
				// A positional argument with no default cannot
				// follow one with a default: the old ones before
				// the last newer positional lose theirs too (a
				// call that passes it passes them all anyway).
				size_t last = 0;
				for (size_t i = (size_t)row.shared; i < args.size(); i++)
					if (!args[i].kwarg_only())
						last = i + 1;
				for (size_t i = 0; i < args.size(); i++) {
					const auto &a = args[i];
					if (i < (size_t)row.shared &&
					    (a.kwarg_only() || i >= last))
						continue;
					args[i] = c10::Argument(a.name(), a.type(),
								a.N(), c10::nullopt,
								a.kwarg_only(),
								a.alias_info() ?
									c10::optional<c10::AliasInfo>(
										*a.alias_info()) :
									c10::nullopt);
				}
				std::string ov = schema.overload_name() +
						 NEWER_ARGS_SUFFIX;
				newer_args().emplace(name + "." + ov,
						     newer_overload{ (size_t)row.shared,
								     schema });
				schema = c10::FunctionSchema(name, ov, args,
							     schema.returns(),
							     schema.is_vararg(),
							     schema.is_varret());
				if (has_overload(schema))
					continue;
			}
			torch::jit::registerOperator(torch::jit::Operator(
				schema.name(), schema.overload_name(),
				schema.arguments(), schema.returns(),
				[name](torch::jit::Stack &) {
					throw std::runtime_error(
						name + " is registered by pt2onnx "
						       "for conversion only; it "
						       "cannot run");
				},
				c10::AliasAnalysisKind::FROM_SCHEMA));
		} catch (const std::exception &) {
			// A schema this libtorch cannot parse: the archives
			// that call it still fail to load, and say which op.
		}
	}
}

// A call that resolved to a newer-argument overload (register_newer_ops)
// is converted as the old overload when every newer argument holds its
// default: the node is made again without them, and matches the old
// schema. A newer argument with another value is something this build's
// converter never sees: the model is refused, naming it.
void fold_newer_args(torch::jit::Block *b)
{
	for (auto it = b->nodes().begin(); it != b->nodes().end();) {
		Node *n = *it++;
		for (Block *sub : n->blocks())
			fold_newer_args(sub);
		const c10::FunctionSchema *s = n->maybeSchema();
		if (!s)
			continue;
		auto found = newer_args().find(s->name() + "." + s->overload_name());
		if (found == newer_args().end())
			continue;
		size_t keep = found->second.shared;
		// The defaults are the ones of the schema as PyTorch 2.x wrote
		// it: the registered one has none (they were made required).
		const c10::FunctionSchema &full = found->second.full;
		std::string op = s->name();
		for (size_t i = keep; i < n->inputs().size() &&
				      i < full.arguments().size(); i++) {
			const auto &a = full.arguments()[i];
			auto v = torch::jit::toIValue(n->input(i));
			if (!v || !a.default_value() ||
			    !c10::_fastEqualsForContainer(*v, *a.default_value()))
				throw unsupported_model(
					op + ": argument '" + a.name() +
					"', which PyTorch added after libtorch "
					TORCH_VERSION ", is given a value other "
					"than its default; pt2onnx converts " +
					op + " without it only");
		}
		std::vector<Value *> ins(n->inputs().begin(),
					 n->inputs().begin() + keep);
		Node *old = n->owningGraph()->create(n->kind(), ins,
						     n->outputs().size());
		old->insertBefore(n);
		old->copyMetadata(n);
		for (size_t i = 0; i < n->outputs().size(); i++) {
			old->output(i)->setType(n->output(i)->type());
			n->output(i)->replaceAllUsesWith(old->output(i));
		}
		n->destroy();
		if (!old->maybeSchema())
			throw unsupported_model(op + ": no overload of libtorch "
						TORCH_VERSION " takes the call "
						"without its newer arguments");
	}
}

// `x is None` / `x is not None` where x's type cannot be None (an
// Optional argument given a value, once inlined: nn.LSTM's hx) become
// constants, and casts of x to a type it already has go, as libtorch's
// non-tensor peephole does (which Debian's libtorch does not export).
void settle_none_tests(torch::jit::Graph &g, Block *b)
{
	for (auto it = b->nodes().begin(); it != b->nodes().end();) {
		Node *n = *it++;
		for (Block *sub : n->blocks())
			settle_none_tests(g, sub);
		if (n->kind() == c10::prim::unchecked_cast &&
		    n->input()->type()->isSubtypeOf(*n->output()->type())) {
			n->output()->replaceAllUsesWith(n->input());
			n->destroy();
			continue;
		}
		if ((n->kind() != c10::aten::__is__ &&
		     n->kind() != c10::aten::__isnot__) || n->inputs().size() != 2)
			continue;
		auto can_be_none = [](const Value *v) {
			auto k = v->type()->kind();
			return k == c10::TypeKind::OptionalType ||
			       k == c10::TypeKind::NoneType ||
			       k == c10::TypeKind::AnyType ||
			       k == c10::TypeKind::UnionType;
		};
		const Value *a = n->input(0), *c = n->input(1);
		bool a_none = a->type()->kind() == c10::TypeKind::NoneType;
		bool c_none = c->type()->kind() == c10::TypeKind::NoneType;
		if (!(a_none && !can_be_none(c)) && !(c_none && !can_be_none(a)))
			continue;
		torch::jit::WithInsertPoint guard(n);
		Value *k = g.insertConstant(n->kind() == c10::aten::__isnot__);
		n->output()->replaceAllUsesWith(k);
		n->destroy();
	}
}

// Constant propagation folds a list of constant tensors (the weights an
// aten::lstm takes as Tensor[]) into one Tensor[] constant, which the C
// side cannot see into. Each becomes a list of one constant per tensor,
// the same constant as the tensor's own where one exists (one initializer
// per weight).
void expand_tensor_lists(torch::jit::Graph &g)
{
	std::unordered_map<const c10::TensorImpl *, Value *> tensors;
	std::vector<Node *> lists;
	std::vector<Block *> todo{ g.block() };
	while (!todo.empty()) {
		Block *b = todo.back();
		todo.pop_back();
		for (Node *n : b->nodes()) {
			for (Block *sub : n->blocks())
				todo.push_back(sub);
			if (n->kind() != c10::prim::Constant)
				continue;
			auto iv = torch::jit::toIValue(n->output());
			if (!iv)
				continue;
			if (iv->isTensor() && n->owningBlock() == g.block())
				tensors.emplace(iv->toTensor().unsafeGetTensorImpl(),
						n->output());
			else if (iv->isTensorList())
				lists.push_back(n);
		}
	}
	for (Node *n : lists) {
		auto l = torch::jit::toIValue(n->output())->toTensorList();
		std::vector<Value *> items;
		torch::jit::WithInsertPoint guard(n);
		std::string base = n->output()->hasDebugName() ?
			n->output()->debugName() : "weights";
		for (size_t i = 0; i < l.size(); i++) {
			at::Tensor t = l.get(i);
			auto seen = tensors.find(t.unsafeGetTensorImpl());
			Value *c;
			if (seen != tensors.end() &&
			    seen->second->node()->isBefore(n)) {
				c = seen->second;
			} else {
				auto made = torch::jit::tryInsertConstant(g, t);
				if (!made)
					break;
				c = *made;
				c->setDebugName(base + "." + std::to_string(i));
			}
			items.push_back(c);
		}
		if (items.size() != l.size())
			continue; // left whole: reported if used
		Node *lc = g.insertNode(g.createList(c10::TensorType::get(), items));
		n->output()->replaceAllUsesWith(lc->output());
		n->destroy();
	}
}

// Inlines every method and function call, from the callees' own graphs,
// each callee's calls first (once a function), as torch::jit::Inline does
// from callees' optimized_graph(): that also runs libtorch's
// pre-optimizations on every method of every submodule, two thirds of
// freezing resnet50, and the passes below run on the whole graph anyway.
// Bottom-up, so that each inlined node's call stack runs from forward()
// down (source lines and module scopes are read from it).
void inline_calls(torch::jit::Block *b,
		  std::unordered_set<const torch::jit::Graph *> &done)
{
	for (auto it = b->nodes().begin(); it != b->nodes().end();) {
		torch::jit::Node *n = *it++;
		torch::jit::GraphFunction *fn = nullptr;
		if (n->kind() == c10::prim::CallFunction) {
			auto ft = n->input(0)->type()->cast<c10::FunctionType>();
			fn = ft ? torch::jit::tryToGraphFunction(*ft->function()) :
				  nullptr;
		} else if (n->kind() == c10::prim::CallMethod) {
			auto ct = n->input(0)->type()->cast<c10::ClassType>();
			auto *m = ct ? ct->findMethod(n->s(c10::attr::name)) : nullptr;
			fn = m ? torch::jit::tryToGraphFunction(*m) : nullptr;
		}
		if (!fn) {
			for (torch::jit::Block *sub : n->blocks())
				inline_calls(sub, done);
			continue;
		}
		std::shared_ptr<torch::jit::Graph> callee = fn->graph();
		if (done.insert(callee.get()).second)
			inline_calls(callee->block(), done);
		if (n->kind() == c10::prim::CallFunction)
			n->removeInput(0); // the function itself
		// In before n, behind the iterator: they hold no calls now.
		torch::jit::inlineCallTo(n, fn, callee.get());
	}
}

void inline_calls(torch::jit::Graph &g)
{
	std::unordered_set<const torch::jit::Graph *> done{ &g };
	inline_calls(g.block(), done);
}

// Runs the canonicalization passes. Order matters: inlining first so that
// every later pass sees the whole forward(); mutation removal before constant
// propagation so that folded values are the functional ones.
void canonicalize(std::shared_ptr<torch::jit::Graph> &g,
		  const torch::jit::Module &mod, bool fold_bn = true)
{
	inline_calls(*g);
	fold_newer_args(g->block());
	storage_users users;
	freeze_attributes(*g, mod, users);
	// Branches that freezing settled go before tuples are lowered: an
	// untaken one may cast None to a tuple (nn.LSTM's hx when not given:
	// prim::unchecked_cast), which LowerAllTuples cannot lower and,
	// throwing half-way, leaves the graph broken for the fallback. Only
	// immutable values (numbers, None, tuples of them) are folded here,
	// after the None tests that types decide (`hx is None` of a tuple
	// given, and its cast) are settled.
	settle_none_tests(*g, g->block());
	torch::jit::ConstantPropagationImmutableTypes(g);
	try {
		torch::jit::LowerAllTuples(g);
	} catch (const std::exception &) {
		// Tuples inside loops cannot always be lowered; the simple ones can.
		torch::jit::LowerSimpleTuples(g);
	}
	torch::jit::RemoveListMutation(g);
	// An in-place op keeps the written tensor's dtype where its pure form
	// promotes (a float32 a.add_(float64 b) stays float32; add gives
	// float64), and the graph's types do not say which happens. With a
	// second tensor operand that promotes with it, it stays in place: the
	// converter rebinds it and casts the result to the written tensor's
	// dtype. (copy_, index_put_, masked_fill_ keep self's dtype anyway.)
	torch::jit::RemoveTensorMutation(g, [](Node *n) {
		const c10::FunctionSchema *s = n->maybeSchema();
		if (!s)
			return true;
		const auto &args = s->arguments();
		for (size_t i = 1; i < n->inputs().size() && i < args.size(); i++) {
			const std::string &name = args[i].name();
			if (n->inputs()[i]->type()->kind() ==
				    c10::TypeKind::TensorType &&
			    (name == "other" || name == "exponent" ||
			     name == "tensor1" || name == "tensor2" ||
			     name == "min" || name == "max"))
				return false;
		}
		return true;
	});
	functionalize_view_writes(*g, g->block());
	torch::jit::ConstantPropagation(g);
	if (fold_bn) // off when parameters must stay what they are
		fold_conv_bn(*g, users);
	expand_tensor_lists(*g);
	torch::jit::EliminateDeadCode(g);
	std::string why = unfrozen(g->block());
	if (!why.empty())
		throw unsupported_model(why);
}

} // namespace


namespace {

// libtorch's CPU allocator over the weight pool (pts_weight_pool): blocks
// of POOL_MIN bytes and more are cut from it, 64-byte aligned, until it is
// used up; everything else, and what does not fit, goes to the allocator
// it replaces. The pool is never reused: a freed block's pages are given
// back (pool_release), its address range stays the pool's. Every block,
// the replaced allocator's too, has one deleter (pool_delete), which
// tells them apart by address: libtorch's raw_allocate()/raw_deallocate()
// need one.
constexpr size_t POOL_MIN = 4 << 10, POOL_ALIGN = 64;
char *pool_base = nullptr;   // the pool, once taken
size_t pool_len = 0;
c10::DeleterFnPtr pool_fallback_free = nullptr; // the replaced allocator's

// A block's size, in the POOL_ALIGN bytes before it. A freed block's whole
// pages go back to the system at once, as glibc unmaps a large block: the
// weights freezing replaces (folded batch norms) do not hold memory
// through the write, whose page cache then reuses those pages.
void pool_release(void *p)
{
	char *data = static_cast<char *>(p);
	size_t n;
	memcpy(&n, data - POOL_ALIGN, sizeof n);
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)data + page - 1) & ~(page - 1);
	uintptr_t hi = ((uintptr_t)data + n) & ~(page - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void pool_delete(void *p)
{
	char *c = static_cast<char *>(p);
	if (c >= pool_base && c < pool_base + pool_len)
		pool_release(p);
	else
		pool_fallback_free(p);
}

struct PoolAllocator final : c10::Allocator {
	c10::Allocator *fallback = nullptr;
	char *base = nullptr;
	size_t len = 0;
	mutable std::atomic<size_t> used{ 0 };

#if TORCH_VERSION_MAJOR >= 2
	c10::DataPtr allocate(size_t n) override
#else
	c10::DataPtr allocate(size_t n) const override
#endif
	{
		if (n >= POOL_MIN && n <= len - 2 * POOL_ALIGN) {
			size_t want = POOL_ALIGN + ((n + POOL_ALIGN - 1) &
						    ~(POOL_ALIGN - 1));
			size_t at = used.load(std::memory_order_relaxed);
			while (at <= len - want) {
				if (used.compare_exchange_weak(at, at + want)) {
					char *data = base + at + POOL_ALIGN;
					memcpy(data - POOL_ALIGN, &n, sizeof n);
					return { data, data, &pool_delete,
						 c10::Device(c10::DeviceType::CPU) };
				}
			}
		}
		void *p = fallback->raw_allocate(n);
		return { p, p, &pool_delete, c10::Device(c10::DeviceType::CPU) };
	}
	// No more blocks from the pool; its unused pages go back to the
	// system (a model of small tensors leaves most of it unused).
	void close()
	{
		if (!base)
			return;
		size_t at = used.exchange(len);
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		size_t keep = (at + page - 1) / page * page;
		// What is unmapped stops being the pool's before it goes: the
		// system may map a block of the other allocator there later,
		// which pool_delete must not take for one of ours.
		pool_len = keep;
		if (keep < len)
			munmap(base + keep, len - keep);
	}
	c10::DeleterFnPtr raw_deleter() const override
	{
		return &pool_delete;
	}
#if TORCH_VERSION_MAJOR >= 2
	// (libtorch 2.x clones a block through its allocator.)
	void copy_data(void *dest, const void *src, size_t n) const override
	{
		default_copy_data(dest, src, n);
	}
#endif
};

PoolAllocator weight_pool;

} // namespace


extern "C" int pts_load(const char *path, pts_model **out, char *err,
			size_t errlen)
{
	return pts_load_with(path, nullptr, out, err, errlen);
}

extern "C" int pts_load_with(const char *path, const pts_load_opts *opts,
			     pts_model **out, char *err, size_t errlen)
{
	pts_load_opts o{};
	if (opts)
		o = *opts;
	*out = nullptr;
	static QuietWarnings quiet;
#if TORCH_VERSION_MAJOR >= 2
	c10::WarningUtils::set_warning_handler(&quiet);
#else
	c10::Warning::set_warning_handler(&quiet);
#endif
	static std::once_flag registered;
	std::call_once(registered, register_newer_ops);
	pts_model *m = nullptr;
	int stage = PTS_E_ARCHIVE;
	archive_info ai;
	std::string newer;
	try {
		m = new pts_model();
		later_crcs later;
		try {
			check_archive(path, &ai, &later);
		} catch (const corrupt_archive &e) {
			set_err(err, errlen, std::string("corrupt archive: ") + e.what());
			delete m;
			return PTS_E_ARCHIVE;
		}
		torch::jit::Module mod;
		std::exception_ptr load_failed;
		try {
			mod = torch::jit::load(path, at::kCPU);
		} catch (...) {
			load_failed = std::current_exception();
		}
		// A damaged tensor record is the error to give, whatever libtorch
		// made of the archive.
		try {
			later.finish();
		} catch (const corrupt_archive &e) {
			set_err(err, errlen, std::string("corrupt archive: ") + e.what());
			delete m;
			return PTS_E_ARCHIVE;
		}
		try {
			if (load_failed)
				std::rethrow_exception(load_failed);
		} catch (const c10::Error &e) {
			if (explain_newer(e.what_without_backtrace(), ai, &newer)) {
				set_err(err, errlen, newer);
				delete m;
				return PTS_E_UNSUPPORTED;
			}
			std::string msg = first_line(e.what_without_backtrace());
			// The checks above bound every size the archive declares
			// by the file's: an allocation failing now is real.
			if (msg.find("can't allocate memory") != std::string::npos)
				throw std::bad_alloc();
			if (msg.find("constants.pkl") != std::string::npos)
				msg += " (a torch.save() checkpoint? pt2onnx needs a "
				       "torch.jit.save() archive)";
			set_err(err, errlen, "not a TorchScript archive: " + msg);
			delete m;
			return PTS_E_ARCHIVE;
		}
		try {
			check_module_tensors(mod._ivalue());
		} catch (const corrupt_archive &e) {
			set_err(err, errlen, std::string("corrupt archive: ") + e.what());
			delete m;
			return PTS_E_ARCHIVE;
		}
		stage = PTS_E_MODEL;
		auto freeze_start = std::chrono::steady_clock::now(); // report
		if (!mod.find_method("forward")) {
			set_err(err, errlen, "the module has no forward() method");
			delete m;
			return PTS_E_MODEL;
		}
		// ---- knobs ---- (torch.onnx's training=: eval by default)
		if (o.training == 2)
			mod.train();
		else if (o.training != 1)
			mod.eval();
		m->training = mod.is_training();
		collect_params(m, mod._ivalue(), "");
		auto forward = mod.get_method("forward");
		m->graph = forward.graph();
		// forward()'s default arguments, for inputs given no shape.
		std::vector<c10::optional<c10::IValue>> defaults;
		for (const auto &arg : forward.function().getSchema().arguments())
			defaults.push_back(arg.default_value());
		canonicalize(m->graph, mod, !o.keep_params);
		// The graph now holds every constant the conversion needs; the
		// module (and weights only it still refers to) can go.
		mod = torch::jit::Module();
		m->aliased = alias_writes(m->graph->block()).bad;
		fill_block(m, m->graph->block(), &m->view.top);
		for (size_t i = 0; defaults.size() == m->view.top.n_in &&
				   i < defaults.size(); i++)
			if (defaults[i])
				m->values[m->view.top.in[i]].deflt =
					const_of(m, defaults[i]);
		m->view.n_values = (uint32_t)m->values.size();
		m->view.n_scopes = (uint32_t)m->scopes.size(); /* ---- aten ---- */
		m->view.values = m->values.data();
		m->freeze_seconds = std::chrono::duration<double>(
			std::chrono::steady_clock::now() - freeze_start).count();
		weight_pool.close(); // the weights are in place
		*out = m;
		return PTS_OK;
	} catch (const unsupported_model &e) {
		set_err(err, errlen, e.what());
		delete m;
		return PTS_E_UNSUPPORTED;
	} catch (const std::bad_alloc &) {
		set_err(err, errlen, stage == PTS_E_ARCHIVE ?
					     "out of memory while loading" :
					     "out of memory while freezing");
		delete m;
		return PTS_E_NOMEM;
	} catch (const std::exception &e) {
		// c10::Error's what() carries a C++ backtrace; the user wants
		// the first line of the message only.
		auto *ce = dynamic_cast<const c10::Error *>(&e);
		const char *full = ce ? ce->what_without_backtrace() : e.what();
		if (explain_newer(full ? full : "", ai, &newer)) {
			set_err(err, errlen, newer);
			delete m;
			return PTS_E_UNSUPPORTED;
		}
		std::string what = first_line(full);
		if (what.find("can't allocate memory") != std::string::npos) {
			set_err(err, errlen, stage == PTS_E_ARCHIVE ?
						     "out of memory while loading" :
						     "out of memory while freezing");
			delete m;
			return PTS_E_NOMEM;
		}
		set_err(err, errlen, (stage == PTS_E_ARCHIVE ?
				      "not a TorchScript archive: " :
				      "cannot freeze the model: ") + what);
		delete m;
		return stage;
	} catch (...) {
		set_err(err, errlen, "unknown error from libtorch");
		delete m;
		return stage;
	}
}

// ---- aten ----
extern "C" int pts_node_types(pts_model *m, const pts_node *pn,
			      const int *dtypes, const int *ranks,
			      const int64_t *const *dims, int *out_dtypes,
			      int *out_ranks)
{
	auto it = m->torch_node.find(pn);
	if (it == m->torch_node.end())
		return PTS_E_MODEL;
	const Node *n = it->second;
	try {
		// A graph of this one node: constants stay constants (the
		// analysis reads dims, dtypes... from them), tensors become
		// inputs of the given types, anything else an input of its
		// own type.
		auto g = std::make_shared<torch::jit::Graph>();
		std::unordered_map<const Value *, Value *> vmap;
		for (size_t i = 0; i < n->inputs().size(); i++) {
			const Value *v = n->inputs()[i];
			if (vmap.count(v))
				continue;
			if (v->node()->kind() == c10::prim::Constant) {
				Node *c = g->createClone(const_cast<Node *>(v->node()),
							 [](Value *) -> Value * {
								 return nullptr;
							 });
				g->insertNode(c);
				vmap[v] = c->output();
				continue;
			}
			Value *in = g->addInput();
			c10::optional<at::ScalarType> st;
			for (int t = 0; dtypes[i] && t < (int)c10::ScalarType::NumOptions; t++)
				if (dtype_of((c10::ScalarType)t) == dtypes[i]) {
					st = (c10::ScalarType)t;
					break;
				}
			if (v->type()->cast<c10::TensorType>() && st && ranks[i] >= 0)
				in->setType(dims[i] ?
					c10::TensorType::createContiguous(
						*st, at::kCPU,
						at::IntArrayRef(dims[i], (size_t)ranks[i])) :
					c10::TensorType::create(st, at::kCPU,
								(size_t)ranks[i], false));
			else
				in->setType(v->type());
			vmap[v] = in;
		}
		Node *c = g->createClone(const_cast<Node *>(n), [&](Value *v) {
			return vmap.at(v);
		});
		g->insertNode(c);
		for (Value *o : c->outputs())
			g->registerOutput(o);
		torch::jit::PropagateInputShapes(g);
		for (size_t k = 0; k < c->outputs().size(); k++) {
			out_dtypes[k] = 0;
			out_ranks[k] = -1;
			auto tt = c->outputs()[k]->type()->cast<c10::TensorType>();
			if (!tt)
				continue;
			if (auto st = tt->scalarType())
				out_dtypes[k] = dtype_of(*st);
			if (auto d = tt->dim())
				out_ranks[k] = (int)*d;
		}
		return PTS_OK;
	} catch (...) {
		return PTS_E_MODEL;
	}
}

extern "C" const pts_graph *pts_graph_of(const pts_model *m)
{
	return &m->view;
}

extern "C" const char *pts_graph_text(pts_model *m)
{
	// Made on demand: printing reads the archive's debug records, which
	// only --verbose needs (and which may be corrupt).
	if (m->text.empty()) {
		try {
			m->text = m->graph->toString();
		} catch (...) {
			m->text = "(the TorchScript graph cannot be printed)\n";
		}
	}
	return m->text.c_str();
}

// ---- knobs ----
extern "C" int pts_training(const pts_model *m)
{
	return m->training;
}

extern "C" size_t pts_params(const pts_model *m, const char *const **names,
			     const uint32_t **values)
{
	*names = m->param_names.data();
	*values = m->param_values.data();
	return m->param_names.size();
}

extern "C" const char *pts_node_scope(const pts_model *m, const pts_node *n)
{
	auto found = m->scope_paths.find(n);
	return found == m->scope_paths.end() ? "" : found->second;
}

extern "C" void pts_free(pts_model *m)
{
	try {
		delete m;
	} catch (...) {
	}
}

extern "C" const char *pts_torch_version(void)
{
	return TORCH_VERSION;
}

// The JIT's operator table is built on first use: every op the dispatcher
// knows gets its schema string made and indexed (thousands of them), the
// bulk of a small conversion's time. Built once here, right after the
// shim is loaded, it is shared by every worker a --batch forks afterwards
// instead of being rebuilt in each.
extern "C" int pts_weight_pool(void *base, size_t len)
{
	if (weight_pool.base || !base || len <= 2 * POOL_ALIGN)
		return 0; // one pool a process
	c10::Allocator *fallback = c10::GetCPUAllocator();
	if (!fallback || !fallback->raw_deleter())
		return 0; // its blocks could not share one deleter with ours
	pool_fallback_free = fallback->raw_deleter();
	pool_base = static_cast<char *>(base);
	pool_len = len;
	weight_pool.fallback = fallback;
	weight_pool.base = pool_base;
	weight_pool.len = len;
	c10::SetCPUAllocator(&weight_pool, /*priority=*/1);
	return 1;
}

extern "C" void pts_warm(void)
{
	try {
		(void)torch::jit::getAllOperators();
	} catch (...) {
		// Only a cache: a failure here shows again, with its reason,
		// when a conversion looks an op up.
	}
}

// ---- report ----
extern "C" double pts_freeze_seconds(const pts_model *m)
{
	return m ? m->freeze_seconds : -1;
}
