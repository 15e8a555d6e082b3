"""Reads Vigil's ModelConfig and a classification answer from grpcio, Python's own gRPC stack.

Usage: model_config.py STUBS_DIR HOST:PORT MODEL ROW_JSON
Prints JSON: the model config as protobuf's JSON form, and the BYTES elements of a
classification request for every class of the model's first output.
"""
import json
import struct
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from inference import grpc_service_pb2 as pb  # noqa: E402
from inference import grpc_service_pb2_grpc as rpc  # noqa: E402

target, model, row = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])

request = pb.ModelInferRequest(model_name=model)
tensor = request.inputs.add()
tensor.name = "features"
tensor.datatype = "FP32"
tensor.shape.extend([1, len(row)])
request.raw_input_contents.append(struct.pack(f"<{len(row)}f", *[float(v) for v in row]))
output = request.outputs.add()
output.name = "probabilities"
output.parameters["classification"].int64_param = 10

with grpc.insecure_channel(target) as channel:
    stub = rpc.GRPCInferenceServiceStub(channel)
    config = stub.ModelConfig(pb.ModelConfigRequest(name=model), timeout=10).config
    response = stub.ModelInfer(request, timeout=10)

raw = response.raw_output_contents[0]
classes, offset = [], 0
while offset < len(raw):
    (length,) = struct.unpack_from("<I", raw, offset)
    classes.append(raw[offset + 4 : offset + 4 + length].decode("utf-8"))
    offset += 4 + length
print(json.dumps({"config": json_format.MessageToDict(config), "classes": classes}))
