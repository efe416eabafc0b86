/* types.c — element types: names, sizes, PyTorch's promotion rules, and the
 * --input-shape syntax. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
	int dtype;
	const char *name;
	size_t size;
} dtypes[] = {
	{ P2O_FLOAT, "float32", 4 },   { P2O_FLOAT16, "float16", 2 },
	{ P2O_DOUBLE, "float64", 8 },  { P2O_BFLOAT16, "bfloat16", 2 },
	{ P2O_INT64, "int64", 8 },     { P2O_INT32, "int32", 4 },
	{ P2O_INT16, "int16", 2 },     { P2O_INT8, "int8", 1 },
	{ P2O_UINT8, "uint8", 1 },     { P2O_BOOL, "bool", 1 },
};

const char *p2o_dtype_name(int dtype)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
		if (dtypes[i].dtype == dtype)
			return dtypes[i].name;
	return NULL;
}

size_t p2o_dtype_size(int dtype)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
		if (dtypes[i].dtype == dtype)
			return dtypes[i].size;
	return 0;
}

bool p2o_dtype_is_float(int dtype)
{
	return dtype == P2O_FLOAT || dtype == P2O_FLOAT16 ||
	       dtype == P2O_DOUBLE || dtype == P2O_BFLOAT16;
}

bool p2o_dtype_is_int(int dtype)
{
	return dtype == P2O_INT64 || dtype == P2O_INT32 || dtype == P2O_INT16 ||
	       dtype == P2O_INT8 || dtype == P2O_UINT8;
}

int p2o_dtype_category(int dtype)
{
	if (dtype == P2O_BOOL)
		return 0;
	return p2o_dtype_is_float(dtype) ? 2 : 1;
}

/* torch.promote_types for two tensor dtypes. */
static int promote_types(int a, int b)
{
	if (a == b)
		return a;
	if (a == P2O_BOOL)
		return b;
	if (b == P2O_BOOL)
		return a;
	bool fa = p2o_dtype_is_float(a), fb = p2o_dtype_is_float(b);
	if (fa != fb)
		return fa ? a : b;
	if (fa) {
		if ((a == P2O_FLOAT16 && b == P2O_BFLOAT16) ||
		    (a == P2O_BFLOAT16 && b == P2O_FLOAT16))
			return P2O_FLOAT;
		return p2o_dtype_size(a) >= p2o_dtype_size(b) ? a : b;
	}
	/* Integers: uint8 meets a signed type of its size: the next size up. */
	if ((a == P2O_UINT8 && b == P2O_INT8) || (a == P2O_INT8 && b == P2O_UINT8))
		return P2O_INT16;
	if (a == P2O_UINT8)
		return b;
	if (b == P2O_UINT8)
		return a;
	return p2o_dtype_size(a) >= p2o_dtype_size(b) ? a : b;
}

int p2o_promote(int a, bool a_dim, int b, bool b_dim)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a_dim == b_dim)
		return promote_types(a, b);
	/* A dimensioned tensor decides, unless the 0-dim operand belongs to a
	 * higher category (bool < integer < floating). */
	int hi = a_dim ? a : b, lo = a_dim ? b : a;
	if (p2o_dtype_category(lo) > p2o_dtype_category(hi))
		return lo;
	return hi;
}

int p2o_dtype_from_torch(int64_t st)
{
	/* c10::ScalarType numbering, a stable part of PyTorch's format. */
	switch (st) {
	case 0: return P2O_UINT8;
	case 1: return P2O_INT8;
	case 2: return P2O_INT16;
	case 3: return P2O_INT32;
	case 4: return P2O_INT64;
	case 5: return P2O_FLOAT16;
	case 6: return P2O_FLOAT;
	case 7: return P2O_DOUBLE;
	case 11: return P2O_BOOL;
	case 15: return P2O_BFLOAT16;
	default: return 0;
	}
}

int64_t p2o_numel(const p2o_type *t)
{
	if (t->rank < 0)
		return -1;
	int64_t n = 1;
	for (int i = 0; i < t->rank; i++) {
		if (t->dims[i].v < 0)
			return -1;
		n *= t->dims[i].v;
	}
	return n;
}

bool p2o_dims_known(const p2o_type *t)
{
	return p2o_numel(t) >= 0;
}

static int spec_err(char *err, size_t errlen, const char *fmt, const char *a,
		    const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
	return P2O_ERR_USAGE;
}

int p2o_parse_input_spec(const char *text, p2o_input_spec *out, char *err,
			 size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->dtype = P2O_FLOAT;
	char buf[512];
	if (strlen(text) >= sizeof buf)
		return spec_err(err, errlen, "'%.40s...' is too long%s", text, "");
	strcpy(buf, text);
	char *colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		const char *dt = colon + 1;
		out->dtype = 0;
		for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
			if (strcmp(dtypes[i].name, dt) == 0)
				out->dtype = dtypes[i].dtype;
		if (!out->dtype)
			return spec_err(err, errlen,
					"unknown dtype '%s' in '%s' (use float32, "
					"float16, float64, bfloat16, int64, int32, "
					"int16, int8, uint8 or bool)",
					dt, text);
	}
	if (buf[0] == '\0')
		return P2O_OK; /* a scalar */
	/* Dims are separated by 'x' (1x3x224x224) or, when a symbol itself
	 * contains an x, by commas (batch,3,max_len). */
	const char *sep = strchr(buf, ',') ? "," : "x";
	char *save = NULL;
	int rank = 0;
	size_t len = strlen(buf);
	if (buf[0] == sep[0] || buf[len - 1] == sep[0] ||
	    strstr(buf, sep[0] == ',' ? ",," : "xx"))
		return spec_err(err, errlen,
				"empty dimension in '%s' (expected DIMS like "
				"1x3x224x224, optionally :DTYPE)%s",
				text, "");
	for (char *tok = strtok_r(buf, sep, &save); tok;
	     tok = strtok_r(NULL, sep, &save)) {
		if (rank == P2O_MAX_RANK)
			return spec_err(err, errlen,
					"'%s' has more than 16 dimensions%s",
					text, "");
		if (isdigit((unsigned char)tok[0])) {
			char *end;
			errno = 0;
			long long v = strtoll(tok, &end, 10);
			if (*end || errno || v <= 0 || v > ((long long)1 << 40))
				return spec_err(err, errlen,
						"bad dimension '%s' in '%s' (a "
						"dimension is a positive integer "
						"or a symbol name)",
						tok, text);
			out->dims[rank] = v;
		} else {
			bool ok = isalpha((unsigned char)tok[0]) || tok[0] == '_';
			for (const char *c = tok; *c && ok; c++)
				ok = isalnum((unsigned char)*c) || *c == '_';
			if (!ok || strlen(tok) >= sizeof out->symbols[0])
				return spec_err(err, errlen,
						"bad dimension '%s' in '%s' (a "
						"dimension is a positive integer "
						"or a symbol name)",
						tok, text);
			out->dims[rank] = -1;
			strcpy(out->symbols[rank], tok);
		}
		rank++;
	}
	out->rank = rank;
	return P2O_OK;
}
