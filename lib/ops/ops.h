/* ops.h — every handler, by family (one file each under lib/ops/). The
 * registry (registry.c) maps TorchScript op kinds to these. */
#ifndef PT2ONNX_OPS_H
#define PT2ONNX_OPS_H

/* conv.c */
P2O_HANDLER(convolution);     /* aten::_convolution, aten::convolution */
P2O_HANDLER(conv);            /* aten::conv1d/2d/3d */
P2O_HANDLER(conv_transpose);  /* aten::conv_transpose1d/2d/3d */

/* pool.c */
P2O_HANDLER(max_pool);        /* aten::max_pool1d/2d/3d */
P2O_HANDLER(avg_pool);        /* aten::avg_pool1d/2d/3d */
P2O_HANDLER(adaptive_avg_pool); /* aten::adaptive_avg_pool1d/2d/3d */

/* norm.c */
P2O_HANDLER(batch_norm);

/* elementwise.c */
P2O_HANDLER(add);
P2O_HANDLER(sub);
P2O_HANDLER(rsub);
P2O_HANDLER(mul);
P2O_HANDLER(div);
P2O_HANDLER(floordiv);
P2O_HANDLER(relu);
P2O_HANDLER(hardtanh);
P2O_HANDLER(relu6);
P2O_HANDLER(neg);
P2O_HANDLER(reciprocal);
P2O_HANDLER(gt);
P2O_HANDLER(lt);
P2O_HANDLER(ge);
P2O_HANDLER(le);
P2O_HANDLER(eq);
P2O_HANDLER(ne);

/* linear.c */
P2O_HANDLER(linear);
P2O_HANDLER(addmm);
P2O_HANDLER(matmul);

/* reduce.c */
P2O_HANDLER(mean);
P2O_HANDLER(sum);

/* shape.c */
P2O_HANDLER(flatten);
P2O_HANDLER(view);
P2O_HANDLER(size);
P2O_HANDLER(dim);
P2O_HANDLER(cat);
P2O_HANDLER(identity);        /* contiguous, detach, ... */
P2O_HANDLER(dropout);

/* dtype.c */
P2O_HANDLER(to);              /* aten::to, every overload */
P2O_HANDLER(type_as);
P2O_HANDLER(dtype);           /* prim::dtype */

/* prim.c */
P2O_HANDLER(list_construct);
P2O_HANDLER(list_unpack);
P2O_HANDLER(num_to_tensor);
P2O_HANDLER(to_int);
P2O_HANDLER(to_float);
P2O_HANDLER(getitem);

/* control.c */
P2O_HANDLER(if);
P2O_HANDLER(raise);
P2O_HANDLER(nothing);         /* aten::warn, prim::Uninitialized */
P2O_HANDLER(len);
P2O_HANDLER(not);
P2O_HANDLER(is);
P2O_HANDLER(isnot);
P2O_HANDLER(contains);

#endif
