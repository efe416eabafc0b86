/* sha256.h — SHA-256 (FIPS 180-4) of files, for --report. */
#ifndef PT2ONNX_SHA256_H
#define PT2ONNX_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;          /* bytes hashed so far */
	unsigned char buf[64]; /* a partial block */
	size_t n;              /* bytes in buf */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
/* The digest as 64 lowercase hex digits and a NUL. */
void sha256_hex(sha256_ctx *c, char out[65]);

/* The digest of the file at path into out; -1 (errno set) when it cannot
 * be read. */
int sha256_file(const char *path, char out[65]);

#endif
