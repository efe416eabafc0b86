/* registry.c — the one table from TorchScript op kind to handler.
 *
 * An entry applies from its opset on, until the next entry of the same kind;
 * the registry picks the highest `since` <= the target ("looking down"). A
 * NULL handler blocks the op from that opset: where an op's ONNX form
 * changed and no handler knows the new form, it fails loudly instead of
 * emitting a model that mixes operator versions.
 *
 * Keep the table sorted by kind, then since (a debug build checks). */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define H(name) p2o_h_##name

static const p2o_reg table[] = {
	{ "aten::Float", 7, H(to_float) },
	{ "aten::FloatImplicit", 7, H(to_float) },
	{ "aten::Int", 7, H(to_int) },
	{ "aten::IntImplicit", 7, H(to_int) },
	{ "aten::ScalarImplicit", 7, H(identity) },
	{ "aten::__contains__", 7, H(contains) },
	{ "aten::__getitem__", 7, H(getitem) },
	{ "aten::__is__", 7, H(is) },
	{ "aten::__isnot__", 7, H(isnot) },
	{ "aten::__not__", 7, H(not) },
	{ "aten::_convolution", 7, H(convolution) },
	{ "aten::adaptive_avg_pool1d", 7, H(adaptive_avg_pool) },
	{ "aten::adaptive_avg_pool2d", 7, H(adaptive_avg_pool) },
	{ "aten::adaptive_avg_pool3d", 7, H(adaptive_avg_pool) },
	{ "aten::add", 7, H(add) },
	{ "aten::addmm", 7, H(addmm) },
	{ "aten::alpha_dropout", 7, H(dropout) },
	{ "aten::avg_pool1d", 7, H(avg_pool) },
	{ "aten::avg_pool2d", 7, H(avg_pool) },
	{ "aten::avg_pool3d", 7, H(avg_pool) },
	{ "aten::batch_norm", 7, H(batch_norm) },
	{ "aten::bmm", 7, H(matmul) },
	{ "aten::cat", 7, H(cat) },
	{ "aten::concat", 7, H(cat) },
	{ "aten::contiguous", 7, H(identity) },
	{ "aten::conv1d", 7, H(conv) },
	{ "aten::conv2d", 7, H(conv) },
	{ "aten::conv3d", 7, H(conv) },
	{ "aten::conv_transpose1d", 7, H(conv_transpose) },
	{ "aten::conv_transpose2d", 7, H(conv_transpose) },
	{ "aten::conv_transpose3d", 7, H(conv_transpose) },
	{ "aten::convolution", 7, H(convolution) },
	{ "aten::detach", 7, H(identity) },
	{ "aten::dim", 7, H(dim) },
	{ "aten::div", 7, H(div) },
	{ "aten::dropout", 7, H(dropout) },
	{ "aten::eq", 7, H(eq) },
	{ "aten::feature_alpha_dropout", 7, H(dropout) },
	{ "aten::feature_dropout", 7, H(dropout) },
	{ "aten::flatten", 7, H(flatten) },
	{ "aten::floordiv", 7, H(floordiv) },
	{ "aten::ge", 7, H(ge) },
	{ "aten::gt", 7, H(gt) },
	{ "aten::hardtanh", 7, H(hardtanh) },
	{ "aten::le", 7, H(le) },
	{ "aten::len", 7, H(len) },
	{ "aten::linear", 7, H(linear) },
	{ "aten::lt", 7, H(lt) },
	{ "aten::matmul", 7, H(matmul) },
	{ "aten::max_pool1d", 7, H(max_pool) },
	{ "aten::max_pool2d", 7, H(max_pool) },
	{ "aten::max_pool3d", 7, H(max_pool) },
	{ "aten::mean", 7, H(mean) },
	{ "aten::mm", 7, H(matmul) },
	{ "aten::mul", 7, H(mul) },
	{ "aten::ne", 7, H(ne) },
	{ "aten::neg", 7, H(neg) },
	{ "aten::reciprocal", 7, H(reciprocal) },
	{ "aten::relu", 7, H(relu) },
	{ "aten::relu6", 7, H(relu6) },
	{ "aten::reshape", 7, H(view) },
	{ "aten::rsub", 7, H(rsub) },
	{ "aten::size", 7, H(size) },
	{ "aten::sub", 7, H(sub) },
	{ "aten::sum", 7, H(sum) },
	{ "aten::to", 7, H(to) },
	{ "aten::type_as", 7, H(type_as) },
	{ "aten::view", 7, H(view) },
	{ "aten::warn", 7, H(nothing) },
	{ "prim::If", 7, H(if) },
	{ "prim::ListConstruct", 7, H(list_construct) },
	{ "prim::ListUnpack", 7, H(list_unpack) },
	{ "prim::NumToTensor", 7, H(num_to_tensor) },
	{ "prim::RaiseException", 7, H(raise) },
	{ "prim::TupleConstruct", 7, H(list_construct) },
	{ "prim::TupleUnpack", 7, H(list_unpack) },
	{ "prim::Uninitialized", 7, H(nothing) },
	{ "prim::dtype", 7, H(dtype) },
	{ "prim::unchecked_cast", 7, H(identity) },
};

#define N_TABLE (sizeof table / sizeof *table)

static int cmp_entry(const p2o_reg *a, const p2o_reg *b)
{
	int c = strcmp(a->kind, b->kind);
	return c ? c : (a->since > b->since) - (a->since < b->since);
}

#ifndef NDEBUG
static void check_sorted(void)
{
	static bool checked;
	if (checked)
		return;
	for (size_t i = 1; i < N_TABLE; i++)
		assert(cmp_entry(&table[i - 1], &table[i]) < 0 &&
		       "registry table must be sorted by kind, then since");
	checked = true;
}
#endif

/* Index of the first entry of kind, or N_TABLE. */
static size_t first_of(const char *kind)
{
#ifndef NDEBUG
	check_sorted();
#endif
	size_t lo = 0, hi = N_TABLE;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(table[mid].kind, kind) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < N_TABLE && strcmp(table[lo].kind, kind) == 0 ? lo : N_TABLE;
}

p2o_handler p2o_lookup(const char *kind, int opset, bool *known)
{
	size_t i = first_of(kind);
	*known = i < N_TABLE;
	p2o_handler fn = NULL;
	for (; i < N_TABLE && strcmp(table[i].kind, kind) == 0; i++)
		if (table[i].since <= opset)
			fn = table[i].fn;
	return fn;
}

int p2o_supported_op(size_t i, const char **kind, int *since, int *until)
{
	/* Skip blocking entries: they say where an op does not convert. */
	size_t k = 0;
	for (size_t j = 0; j < N_TABLE; j++) {
		if (!table[j].fn)
			continue;
		if (k++ != i)
			continue;
		*kind = table[j].kind;
		*since = table[j].since;
		*until = P2O_OPSET_MAX;
		if (j + 1 < N_TABLE && strcmp(table[j + 1].kind, table[j].kind) == 0)
			*until = table[j + 1].since - 1;
		return 1;
	}
	return 0;
}

const char *p2o_where(p2o_cx *cx, const char *kind)
{
	size_t i = first_of(kind);
	if (i == N_TABLE)
		return "no converter for this op in pt2onnx";
	char buf[256];
	size_t o = 0;
	o += (size_t)snprintf(buf, sizeof buf, "not convertible at opset %d; "
				"converts at opsets ", cx->opset);
	bool first = true;
	for (; i < N_TABLE && strcmp(table[i].kind, kind) == 0; i++) {
		if (!table[i].fn)
			continue;
		int hi = P2O_OPSET_MAX;
		if (i + 1 < N_TABLE && strcmp(table[i + 1].kind, kind) == 0)
			hi = table[i + 1].since - 1;
		if (o < sizeof buf)
			o += (size_t)snprintf(buf + o, sizeof buf - o,
					      "%s%d-%d", first ? "" : ", ",
					      table[i].since, hi);
		first = false;
	}
	return p2o_strdup(cx, buf);
}
