/* registry.c — the table from TorchScript op kind to handler, built from
 * ops.def (the one op table).
 *
 * A row applies from its opset on, until the next row of the same kind; the
 * registry picks the highest `since` <= the target ("looking down"). A
 * blocking row (NULL handler) blocks the op from that opset: where an op's
 * ONNX form changed and no handler knows the new form, it fails loudly
 * instead of emitting a model that mixes operator versions. Below the first
 * row of a kind the op "needs opset <since> or later". */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const p2o_reg table[] = {
#define P2O_OP(kind, since, handler) { kind, since, p2o_h_##handler, #handler },
#define P2O_BLOCK(kind, since) { kind, since, NULL, NULL },
#include "ops/ops.def"
#undef P2O_OP
#undef P2O_BLOCK
};

#define N_TABLE (sizeof table / sizeof *table)

static int cmp_entry(const p2o_reg *a, const p2o_reg *b)
{
	int c = strcmp(a->kind, b->kind);
	return c ? c : (a->since > b->since) - (a->since < b->since);
}

int p2o_registry_check(p2o_cx *cx)
{
	/* The binary search below and the "looking down" rule both rely on the
	 * order; a misplaced row would silently hide an op. */
	for (size_t i = 1; i < N_TABLE; i++)
		if (cmp_entry(&table[i - 1], &table[i]) >= 0)
			return p2o_fail_graph(cx, P2O_ERR_INTERNAL,
					      "internal: op table (lib/ops/ops.def) "
					      "is not sorted or has a duplicate "
					      "row at %s, opset %d",
					      table[i].kind, table[i].since);
	return P2O_OK;
}

/* Index of the first entry of kind, or N_TABLE. */
static size_t first_of(const char *kind)
{
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

/* The last opset row i of its kind applies to. */
static int row_until(size_t i)
{
	if (i + 1 < N_TABLE && strcmp(table[i + 1].kind, table[i].kind) == 0)
		return table[i + 1].since - 1;
	return P2O_OPSET_MAX;
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
		*until = row_until(j);
		return 1;
	}
	return 0;
}

const char *p2o_where(p2o_cx *cx, const char *kind)
{
	size_t i = first_of(kind);
	if (i == N_TABLE)
		return "no converter for this op in pt2onnx";
	/* Below the first row: the row's since is the truth for "needs". */
	if (cx->opset < table[i].since && table[i].fn)
		return p2o_fmt(cx, "needs opset %d or later (target is %d)",
			       table[i].since, cx->opset);
	char buf[256];
	size_t o = 0;
	int blocked = 0;
	for (size_t j = i; j < N_TABLE && strcmp(table[j].kind, kind) == 0; j++)
		if (!table[j].fn && table[j].since <= cx->opset)
			blocked = table[j].since;
	if (blocked)
		o += (size_t)snprintf(buf, sizeof buf, "not convertible at opset "
				      "%d (blocked from opset %d on); ",
				      cx->opset, blocked);
	else
		o += (size_t)snprintf(buf, sizeof buf,
				      "not convertible at opset %d; ", cx->opset);
	bool first = true;
	for (; i < N_TABLE && strcmp(table[i].kind, kind) == 0; i++) {
		if (!table[i].fn)
			continue;
		if (o < sizeof buf)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%d-%d",
					      first ? "converts at opsets " : ", ",
					      table[i].since, row_until(i));
		first = false;
	}
	if (first && o < sizeof buf)
		snprintf(buf + o, sizeof buf - o, "converts at no opset");
	return p2o_strdup(cx, buf);
}

/* ---- report ---- */
const char *p2o_handler_name(p2o_handler fn)
{
	/* A scan of the table: asked once per distinct kind of a model. */
	for (size_t i = 0; fn && i < N_TABLE; i++)
		if (table[i].fn == fn)
			return table[i].name;
	return NULL;
}
