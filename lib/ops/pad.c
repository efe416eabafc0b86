/* pad.c — padding: aten::pad (modes constant, reflect, replicate,
 * circular), aten::constant_pad_nd, aten::reflection_pad{1,2,3}d,
 * aten::replication_pad{1,2,3}d and aten::_pad_circular.
 *
 * PyTorch's pad list runs from the last dim backwards (last dim's begin,
 * its end, then the dim before); negative entries crop. */
#include <string.h>

#include "../internal.h"

/* Crops the negative entries of pads (ONNX order) with one Slice. */
static uint32_t crop(p2o_cx *cx, uint32_t x, const int64_t *pads, int r)
{
	int64_t st[P2O_MAX_RANK], en[P2O_MAX_RANK], ax[P2O_MAX_RANK];
	size_t k = 0;
	for (int i = 0; i < r; i++) {
		if (pads[i] >= 0 && pads[r + i] >= 0)
			continue;
		st[k] = pads[i] < 0 ? -pads[i] : 0;
		/* A negative end counts from the end: no size needed. */
		en[k] = pads[r + i] < 0 ? pads[r + i] : INT64_MAX;
		ax[k++] = i;
	}
	return k ? p2o_slice(cx, x, st, en, ax, NULL, k) : x;
}

/* Circular padding of the non-negative pads: along each axis, the last
 * pb entries, x, the first pe entries. */
static uint32_t wrap(p2o_cx *cx, uint32_t x, const int64_t *pads, int r)
{
	for (int i = 0; i < r && x != P2O_NOVAL; i++) {
		int64_t pb = pads[i] > 0 ? pads[i] : 0;
		int64_t pe = pads[r + i] > 0 ? pads[r + i] : 0;
		if (!pb && !pe)
			continue;
		uint32_t parts[3];
		uint32_t np = 0;
		int64_t ax = i, end = INT64_MAX, start = -pb, zero = 0;
		if (pb)
			parts[np++] = p2o_slice(cx, x, &start, &end, &ax, NULL, 1);
		parts[np++] = x;
		if (pe)
			parts[np++] = p2o_slice(cx, x, &zero, &pe, &ax, NULL, 1);
		x = p2o_concat(cx, parts, np, i);
	}
	return x;
}

/* aten::pad(self, pad, mode="constant", value=None),
 * aten::constant_pad_nd(self, pad, value=0), aten::reflection_pad{1,2,3}d
 * and aten::replication_pad{1,2,3}d(self, padding),
 * aten::_pad_circular(self, pad). */
P2O_HANDLER(padding)
{
	const char *kind = n->kind + strlen("aten::");
	const char *mode = "constant";
	const char *spec = "self:t pad:is mode:s? value:f?";
	if (strncmp(kind, "reflection_pad", 14) == 0) {
		mode = "reflect";
		spec = "self:t padding:is";
	} else if (strncmp(kind, "replication_pad", 15) == 0) {
		mode = "replicate";
		spec = "self:t padding:is";
	} else if (strcmp(kind, "_pad_circular") == 0) {
		mode = "circular";
		spec = "self:t pad:is";
	} else if (strcmp(kind, "constant_pad_nd") == 0) {
		spec = "self:t pad:is value:f?";
	}
	p2o_arg v[4];
	int64_t tp[2 * P2O_MAX_RANK];
	size_t np;
	int rc = p2o_args(cx, n, spec, v);
	if (rc || (rc = p2o_arg_ints_to(cx, &v[1], tp, 2 * P2O_MAX_RANK, &np)))
		return rc;
	double value = 0;
	if (strcmp(kind, "pad") == 0) {
		mode = v[2].none ? "constant" : v[2].s;
		value = v[3].none ? 0 : v[3].f;
	} else if (strcmp(kind, "constant_pad_nd") == 0) {
		value = v[2].none ? 0 : v[2].f;
	}
	if (strcmp(mode, "constant") && strcmp(mode, "reflect") &&
	    strcmp(mode, "replicate") && strcmp(mode, "circular"))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"padding mode '%s' is not a PyTorch mode", mode);
	if (strcmp(mode, "constant") && value != 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a padding value with mode '%s'", mode);
	uint32_t x = v[0].tensor;
	int r = p2o_t(cx, x)->rank;
	if (r < 0 || np % 2 || np / 2 > (size_t)r)
		return p2o_fail(cx, P2O_ERR_CONVERT, "%zu pad values for a "
				"tensor of rank %d", np, r);
	int64_t pads[2 * P2O_MAX_RANK] = { 0 }, pos[2 * P2O_MAX_RANK];
	bool padded = false;
	for (size_t j = 0; j < np / 2; j++) {
		pads[r - 1 - (int)j] = tp[2 * j];
		pads[2 * r - 1 - (int)j] = tp[2 * j + 1];
	}
	for (int i = 0; i < 2 * r; i++) {
		pos[i] = pads[i] > 0 ? pads[i] : 0;
		padded = padded || pos[i];
	}
	/* Circular padding wraps what is left after cropping (PyTorch's
	 * order); the other modes pad the whole input, then crop. */
	if (strcmp(mode, "circular") == 0)
		return p2o_set_result(cx, n, wrap(cx, crop(cx, x, pads, r),
						  pads, r));
	if (padded && strcmp(mode, "constant") == 0)
		x = p2o_pad(cx, x, pos, r, value);
	else if (padded)
		x = p2o_pad_mode(cx, x, pos, r,
				 strcmp(mode, "reflect") == 0 ? "reflect" :
								 "edge");
	return p2o_set_result(cx, n, x == P2O_NOVAL ? x : crop(cx, x, pads, r));
}
