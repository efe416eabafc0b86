/* ops.h — the declaration of every handler, derived from the op table
 * (ops.def): a row names its handler, so a new handler is declared by the
 * row that registers it. Repeated declarations of one handler (several
 * kinds share it) are harmless in C. */
#ifndef PT2ONNX_OPS_H
#define PT2ONNX_OPS_H

#define P2O_OP(kind, since, handler) P2O_HANDLER(handler);
#define P2O_BLOCK(kind, since)
#include "ops.def"
#undef P2O_OP
#undef P2O_BLOCK

#endif
