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
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/lower_tuples.h>
#include <torch/csrc/jit/passes/remove_mutation.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <new>
#include <tuple>
#include <string>
#include <unordered_map>
#include <vector>

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

struct pts_model {
	std::shared_ptr<torch::jit::Graph> graph; // owns the constant tensors
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
	std::vector<pts_value> values;
	std::unordered_map<const Value *, uint32_t> index;
	pts_graph view{};
	std::string text;
	// In-place writes C must not convert by rebinding (see alias_writes),
	// with a value read later that shares the written memory.
	std::unordered_map<const Node *, std::string> aliased;
};

namespace {

// libtorch reports warnings through c10's handler, which prints to stderr by
// default. The converter owns its messages, so warnings are dropped here.
struct QuietWarnings : c10::WarningHandler {
	void process(const c10::SourceLocation &, const std::string &,
		     const bool) override
	{
	}
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

void fill_block(pts_model *m, const Block *b, pts_block *pb);

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
	for (const Node *n : b->nodes()) {
		if (n->kind() == c10::prim::Constant) {
			add_value(m, n->output());
			continue;
		}
		pts_node pn{};
		fill_node(m, n, &pn);
		ns.push_back(pn);
	}
	pb->n_nodes = (uint32_t)ns.size();
	m->nodes.push_back(std::move(ns));
	pb->nodes = m->nodes.back().data();
	auto out = value_ids(m, b->outputs());
	pb->n_out = (uint32_t)out.size();
	pb->out = keep_idx(m, std::move(out));
}

// The first line of a libtorch message, without its C++ backtrace.
std::string first_line(const char *what)
{
	std::string s(what ? what : "unknown error");
	auto nl = s.find('\n');
	if (nl != std::string::npos)
		s.resize(nl);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\r'))
		s.pop_back();
	return s;
}

void set_err(char *err, size_t errlen, const std::string &msg)
{
	if (err && errlen)
		std::snprintf(err, errlen, "%s", msg.c_str());
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
				const c10::TensorImpl *ti =
					v.toTensor().unsafeGetTensorImpl();
				auto seen = tensors.find(ti);
				if (seen != tensors.end()) {
					c = seen->second;
				} else {
					at::Tensor t = v.toTensor().detach();
					// At the top of the graph, looked up now:
					// the loop destroys only the node it is
					// at, and only after this insertion.
					torch::jit::WithInsertPoint guard(
						g.block()->nodes().front());
					auto made = torch::jit::tryInsertConstant(g, t);
					if (!made)
						continue;
					c = *made;
					c->setDebugName(path);
					tensors.emplace(ti, c);
					if (t.has_storage())
						users[t.storage().unsafeGetStorageImpl()]++;
				}
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
			if (bu == bv || bu == wildcard_ || bv == wildcard_) {
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

// Runs the canonicalization passes. Order matters: inlining first so that
// every later pass sees the whole forward(); mutation removal before constant
// propagation so that folded values are the functional ones.
void canonicalize(std::shared_ptr<torch::jit::Graph> &g,
		  const torch::jit::Module &mod)
{
	torch::jit::Inline(*g);
	storage_users users;
	freeze_attributes(*g, mod, users);
	try {
		torch::jit::LowerAllTuples(g);
	} catch (const std::exception &) {
		// Tuples inside loops cannot always be lowered; the simple ones can.
		torch::jit::LowerSimpleTuples(g);
	}
	torch::jit::RemoveListMutation(g);
	torch::jit::RemoveTensorMutation(g);
	torch::jit::ConstantPropagation(g);
	fold_conv_bn(*g, users);
	torch::jit::EliminateDeadCode(g);
	std::string why = unfrozen(g->block());
	if (!why.empty())
		throw unsupported_model(why);
}

} // namespace

extern "C" int pts_load(const char *path, pts_model **out, char *err,
			size_t errlen)
{
	*out = nullptr;
	static QuietWarnings quiet;
	c10::Warning::set_warning_handler(&quiet);
	pts_model *m = nullptr;
	int stage = PTS_E_ARCHIVE;
	try {
		m = new pts_model();
		torch::jit::Module mod;
		try {
			mod = torch::jit::load(path, at::kCPU);
		} catch (const c10::Error &e) {
			std::string msg = first_line(e.what_without_backtrace());
			if (msg.find("constants.pkl") != std::string::npos)
				msg += " (a torch.save() checkpoint? pt2onnx needs a "
				       "torch.jit.save() archive)";
			set_err(err, errlen, "not a TorchScript archive: " + msg);
			delete m;
			return PTS_E_ARCHIVE;
		} catch (const std::bad_alloc &) {
			// A corrupt record size asks for absurd amounts; a model
			// truly larger than memory reads the same.
			set_err(err, errlen, "cannot load the archive: it asks for "
					     "more memory than there is (corrupt, "
					     "or larger than memory)");
			delete m;
			return PTS_E_ARCHIVE;
		}
		stage = PTS_E_MODEL;
		if (!mod.find_method("forward")) {
			set_err(err, errlen, "the module has no forward() method");
			delete m;
			return PTS_E_MODEL;
		}
		mod.eval();
		auto forward = mod.get_method("forward");
		m->graph = forward.graph();
		// forward()'s default arguments, for inputs given no shape.
		std::vector<c10::optional<c10::IValue>> defaults;
		for (const auto &arg : forward.function().getSchema().arguments())
			defaults.push_back(arg.default_value());
		canonicalize(m->graph, mod);
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
		m->view.values = m->values.data();
		*out = m;
		return PTS_OK;
	} catch (const unsupported_model &e) {
		set_err(err, errlen, e.what());
		delete m;
		return PTS_E_UNSUPPORTED;
	} catch (const std::bad_alloc &) {
		set_err(err, errlen, "out of memory while loading the model");
		delete m;
		return PTS_E_NOMEM;
	} catch (const std::exception &e) {
		// c10::Error's what() carries a C++ backtrace; the user wants
		// the first line of the message only.
		auto *ce = dynamic_cast<const c10::Error *>(&e);
		set_err(err, errlen, (stage == PTS_E_ARCHIVE ?
				      "not a TorchScript archive: " :
				      "cannot freeze the model: ") +
					     first_line(ce ? ce->what_without_backtrace() :
							     e.what()));
		delete m;
		return stage;
	} catch (...) {
		set_err(err, errlen, "unknown error from libtorch");
		delete m;
		return stage;
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
