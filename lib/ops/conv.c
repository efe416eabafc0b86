/* conv.c — convolutions: aten::_convolution / aten::convolution (traced
 * models), aten::conv1d/2d/3d (scripted models, padding as numbers or
 * 'same'/'valid'), aten::conv_transpose1d/2d/3d. All become one Conv or
 * ConvTranspose; an unbatched input (no N dim) is unsqueezed around it. */
#include <string.h>

#include "../internal.h"

/* What a convolution call says, once its arguments are read. */
typedef struct conv_args {
	uint32_t x, w, b;                        /* ONNX values; b P2O_NOVAL
	                                            when there is no bias */
	bool transposed;
	int64_t stride[P2O_MAX_RANK], pad[P2O_MAX_RANK], dil[P2O_MAX_RANK],
		outpad[P2O_MAX_RANK];
	size_t n_stride, n_pad, n_dil, n_outpad; /* 1 means "all dims" */
	const char *pad_mode;                    /* "same"/"valid" or NULL */
	int64_t groups;
} conv_args;

/* Expands a 1-entry list to sp entries; checks the length otherwise. */
static int expand(p2o_cx *cx, int64_t *v, size_t n, int sp, const char *what)
{
	if (n == (size_t)sp)
		return P2O_OK;
	if (n == 1) {
		for (int i = 1; i < sp; i++)
			v[i] = v[0];
		return P2O_OK;
	}
	return p2o_fail(cx, P2O_ERR_CONVERT,
			"%s has %zu entries for %d spatial dims", what, n, sp);
}

static int emit(p2o_cx *cx, const pts_node *n, conv_args *a)
{
	uint32_t x = a->x, w = a->w, b = a->b;
	const p2o_type *wt = p2o_t(cx, w);
	if (wt->rank < 3)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"weight must have rank >= 3, got %d", wt->rank);
	int sp = wt->rank - 2;
	int xr = p2o_t(cx, x)->rank;
	bool unbatched = xr == sp + 1;
	if (xr != sp + 2 && !unbatched)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"input has rank %d; a %dd convolution takes rank "
				"%d (or %d unbatched); check --input-shape",
				xr, sp, sp + 2, sp + 1);
	int rc;
	if ((rc = expand(cx, a->stride, a->n_stride, sp, "stride")) ||
	    (rc = expand(cx, a->dil, a->n_dil, sp, "dilation")))
		return rc;
	int64_t pads[2 * P2O_MAX_RANK], kernel[P2O_MAX_RANK];
	bool kernel_known = true;
	for (int i = 0; i < sp; i++) {
		kernel[i] = wt->dims[2 + i].v;
		kernel_known = kernel_known && kernel[i] > 0;
	}
	if (a->pad_mode && strcmp(a->pad_mode, "valid") == 0) {
		memset(pads, 0, sizeof pads);
	} else if (a->pad_mode && strcmp(a->pad_mode, "same") == 0) {
		if (!kernel_known)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"padding='same' needs a weight of known "
					"shape");
		/* PyTorch puts the odd pixel of 'same' padding at the end. */
		for (int i = 0; i < sp; i++) {
			int64_t total = a->dil[i] * (kernel[i] - 1);
			pads[i] = total / 2;
			pads[sp + i] = total - total / 2;
		}
	} else if (a->pad_mode) {
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"padding='%s' is not a padding mode", a->pad_mode);
	} else {
		if ((rc = expand(cx, a->pad, a->n_pad, sp, "padding")))
			return rc;
		for (int i = 0; i < sp; i++)
			pads[i] = pads[sp + i] = a->pad[i];
	}
	if (a->transposed && a->n_outpad &&
	    (rc = expand(cx, a->outpad, a->n_outpad, sp, "output_padding")))
		return rc;
	static const int64_t zero = 0;
	if (unbatched)
		x = p2o_unsqueeze(cx, x, &zero, 1);
	uint32_t in[3] = { x, w, b };
	uint32_t nd = p2o_node_new(cx, a->transposed ? "ConvTranspose" : "Conv",
				   b == P2O_NOVAL ? 2 : 3, in, 1);
	if (kernel_known)
		p2o_attr_ints(cx, nd, "kernel_shape", kernel, (size_t)sp);
	p2o_attr_ints(cx, nd, "strides", a->stride, (size_t)sp);
	p2o_attr_ints(cx, nd, "pads", pads, 2 * (size_t)sp);
	p2o_attr_ints(cx, nd, "dilations", a->dil, (size_t)sp);
	p2o_attr_int(cx, nd, "group", a->groups);
	if (a->transposed && a->n_outpad) {
		bool any = false;
		for (int i = 0; i < sp; i++)
			any = any || a->outpad[i];
		if (any)
			p2o_attr_ints(cx, nd, "output_padding", a->outpad,
				      (size_t)sp);
	}
	uint32_t y = p2o_node_done(cx, nd);
	if (unbatched)
		y = p2o_squeeze(cx, y, &zero, 1);
	return p2o_set_result(cx, n, y);
}

/* The arguments every convolution has; the spec lists them first. */
#define CONV_COMMON "input:t weight:t bias:t? stride:is dilation:is groups:i"

/* Takes what p2o_args decoded for CONV_COMMON (v[0..5]) into a. */
static int take_common(p2o_cx *cx, const p2o_arg *v, conv_args *a)
{
	a->x = v[0].tensor;
	a->w = v[1].tensor;
	a->b = v[2].none ? P2O_NOVAL : v[2].tensor;
	a->groups = v[5].i;
	int rc;
	if ((rc = p2o_arg_ints_to(cx, &v[3], a->stride, P2O_MAX_RANK,
				  &a->n_stride)) ||
	    (rc = p2o_arg_ints_to(cx, &v[4], a->dil, P2O_MAX_RANK, &a->n_dil)))
		return rc;
	return P2O_OK;
}

/* aten::_convolution(input, weight, bias, stride, padding, dilation,
 *   transposed, output_padding, groups, ...) and aten::convolution (the
 *   same first nine). */
P2O_HANDLER(convolution)
{
	conv_args a = { 0 };
	p2o_arg v[9];
	int rc;
	if ((rc = p2o_args(cx, n, CONV_COMMON " padding:is transposed:b "
				  "output_padding:is", v)) ||
	    (rc = take_common(cx, v, &a)) ||
	    (rc = p2o_arg_ints_to(cx, &v[6], a.pad, P2O_MAX_RANK, &a.n_pad)) ||
	    (rc = p2o_arg_ints_to(cx, &v[8], a.outpad, P2O_MAX_RANK,
				  &a.n_outpad)))
		return rc;
	a.transposed = v[7].b;
	return emit(cx, n, &a);
}

/* aten::conv{1,2,3}d(input, weight, bias, stride, padding, dilation,
 *   groups); the .padding overload takes padding as 'same'/'valid'. */
P2O_HANDLER(conv)
{
	conv_args a = { 0 };
	p2o_arg v[7];
	bool mode = p2o_overload_is(n, "padding");
	int rc;
	if ((rc = p2o_args(cx, n, mode ? CONV_COMMON " padding:s" :
					 CONV_COMMON " padding:is", v)) ||
	    (rc = take_common(cx, v, &a)))
		return rc;
	if (mode)
		a.pad_mode = v[6].s;
	else if ((rc = p2o_arg_ints_to(cx, &v[6], a.pad, P2O_MAX_RANK,
				       &a.n_pad)))
		return rc;
	return emit(cx, n, &a);
}

/* aten::conv_transpose{1,2,3}d(input, weight, bias, stride, padding,
 *   output_padding, groups, dilation). */
P2O_HANDLER(conv_transpose)
{
	conv_args a = { .transposed = true };
	p2o_arg v[8];
	int rc;
	if ((rc = p2o_args(cx, n, CONV_COMMON " padding:is output_padding:is",
			   v)) ||
	    (rc = take_common(cx, v, &a)) ||
	    (rc = p2o_arg_ints_to(cx, &v[6], a.pad, P2O_MAX_RANK, &a.n_pad)) ||
	    (rc = p2o_arg_ints_to(cx, &v[7], a.outpad, P2O_MAX_RANK,
				  &a.n_outpad)))
		return rc;
	return emit(cx, n, &a);
}
