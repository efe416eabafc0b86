/* report.h — --report: the JSON account of one conversion (cmd/report.c),
 * built with cJSON from what lib/ exposes as data. docs/report.schema.json
 * is its schema; man/pt2onnx.1 (REPORT) documents each field. */
#ifndef PT2ONNX_REPORT_H
#define PT2ONNX_REPORT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "pt2onnx.h"

/* Stages timed, in the order they run. */
enum { STAGE_LIBTORCH, STAGE_LOAD, STAGE_FREEZE, STAGE_CONVERT, STAGE_WRITE,
       N_STAGES };

/* What the command knows of a conversion, for report_write. */
typedef struct report_in {
	const char *path;     /* --report FILE, or "-" for stdout */
	const char *model;    /* MODEL */
	const char *output;   /* -o (or the default), "-" for stdout */
	cJSON *options;       /* the job's options (taken over) */
	p2o_ctx *cx;          /* the conversion, or NULL when none ran in
				 this process (checked before, or crashed) */
	const char *stage;    /* the stage that failed ("output", "load",
				 "convert", "write", "worker"), or NULL */
	int code;             /* the failure's p2o_err (0 on success) */
	const char *message;  /* a failure cx did not record, or NULL */
	double secs[N_STAGES]; /* seconds per stage; < 0 when not run or
				  not measurable apart */
	int exit_status;
} report_in;

/* Writes the report (a file is written to a temporary name beside it and
 * renamed into place). Returns 0, or -1 with a one-line reason in err. */
int report_write(const report_in *r, char *err, size_t errlen);

#endif
