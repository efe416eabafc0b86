#!/usr/bin/python3
"""Models and checks for tests/knobs.bats (the export options).

    /usr/bin/python3 scripts/knobs_models.py make DIR
        writes DIR/net.pt (eval mode), DIR/net_train.pt (the same network
        saved in training mode) and DIR/bn0.pt (dropout p=0, batch norm
        momentum 0: deterministic in training mode, and within what ONNX
        Runtime computes right), each with NAME.ref.json: the input x (one
        2x3x8x8 float32 tensor), PyTorch's output in eval mode ("eval")
        and, for bn0, in training mode ("train"), and the state_dict
        ("state"), encoded as scripts/ortcheck.js's fixtures encode tensors
    /usr/bin/python3 scripts/knobs_models.py info MODEL.onnx
        prints a JSON summary of MODEL: inputs, initializers, node op types
        with counts, node names, doc strings, int and float attributes, opset
        imports, producer, metadata, IR version
"""
import base64
import collections
import json
import os
import sys

import torch
from torch import nn

torch.manual_seed(0)


class Net(nn.Module):
    """Conv, batch norm, dropout, an int buffer added to floats (a Cast of
    a constant: folded), two equal buffers (deduplicated)."""

    def __init__(self, p=0.5, momentum=0.1):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1),
                                      nn.BatchNorm2d(4, momentum=momentum),
                                      nn.ReLU())
        self.drop = nn.Dropout(p)
        self.fc = nn.Linear(4 * 8 * 8, 5)
        self.register_buffer("scale", torch.full((5,), 0.25))
        self.register_buffer("shift", torch.full((5,), 0.25))
        self.register_buffer("steps", torch.arange(5))

    def forward(self, x):
        y = self.drop(self.features(x))
        y = y.reshape(y.shape[0], y.shape[1] * y.shape[2] * y.shape[3])
        # steps (int64) is cast to float for the addition: a Cast of a
        # constant, folded; scale and shift are equal: one initializer.
        return self.fc(y) * self.scale + self.shift + self.steps


def encode(t):
    t = t.detach().contiguous()
    dt = {torch.float32: "float32", torch.int64: "int64"}[t.dtype]
    return {"dims": list(t.shape), "dtype": dt,
            "data": base64.b64encode(t.numpy().tobytes()).decode("ascii")}


def randomize_stats(net):
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def save(d, name, net, x):
    """ARCHIVE and its reference: x, PyTorch's outputs in eval and (when
    deterministic) training mode, the state_dict, in DIR/NAME.ref.json."""
    torch.jit.save(torch.jit.script(net), os.path.join(d, name + ".pt"))
    training = net.training
    ref = {"x": encode(x),
           "state": {k: encode(v) for k, v in net.state_dict().items()}}
    with torch.no_grad():
        net.eval()
        ref["eval"] = encode(net(x))
        if not any(isinstance(m, nn.Dropout) and m.p > 0 for m in net.modules()):
            net.train()
            ref["train"] = encode(net(x))
    net.train(training)
    with open(os.path.join(d, name + ".ref.json"), "w") as f:
        json.dump(ref, f)


def make(d):
    os.makedirs(d, exist_ok=True)
    x = torch.randn(2, 3, 8, 8)
    net = Net()
    randomize_stats(net)
    net.eval()
    save(d, "net", net, x)
    net.train()
    save(d, "net_train", net, x)
    # ONNX Runtime's BatchNormalization in training mode normalizes with
    # the momentum-blended statistics (microsoft/onnxruntime#29790) unless
    # ONNX's momentum is 1, PyTorch's 0: bn0's, so ORT can check it.
    bn0 = Net(p=0.0, momentum=0.0)
    randomize_stats(bn0)
    bn0.train()
    save(d, "bn0", bn0, x)


def info(path):
    import onnx
    m = onnx.load(path)
    g = m.graph
    print(json.dumps({
        "ir_version": m.ir_version,
        "producer_name": m.producer_name,
        "opset_import": {o.domain: o.version for o in m.opset_import},
        "metadata": {p.key: p.value for p in m.metadata_props},
        "inputs": [i.name for i in g.input],
        "outputs": [o.name for o in g.output],
        "initializers": [i.name for i in g.initializer],
        "ops": dict(collections.Counter(n.op_type for n in g.node)),
        "nodes": len(g.node),
        "node_names": [n.name for n in g.node],
        "doc_strings": [n.doc_string for n in g.node],
        "attrs": {n.name: {a.name: onnx.helper.get_attribute_value(a)
                           for a in n.attribute
                           if a.type in (onnx.AttributeProto.INT,
                                         onnx.AttributeProto.FLOAT)}
                  for n in g.node},
        "node_outputs": {n.name: len(n.output) for n in g.node},
    }, indent=1, sort_keys=True))


def main(argv):
    if len(argv) == 3 and argv[1] == "make":
        make(argv[2])
    elif len(argv) == 3 and argv[1] == "info":
        info(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
