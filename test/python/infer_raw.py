"""Calls Vigil's ModelInfer from grpcio, Python's own gRPC stack, with raw_input_contents.

Usage: infer_raw.py STUBS_DIR HOST:PORT MODEL ROWS_JSON
Prints the response as JSON: id, model, version, output name, shape and the FP32 values.
"""
import json
import struct
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from inference import grpc_service_pb2 as pb  # noqa: E402
from inference import grpc_service_pb2_grpc as rpc  # noqa: E402

target, model, rows = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
flat = [float(v) for row in rows for v in row]

request = pb.ModelInferRequest(model_name=model, id="from-python")
tensor = request.inputs.add()
tensor.name = "features"
tensor.datatype = "FP32"
tensor.shape.extend([len(rows), len(rows[0])])
request.raw_input_contents.append(struct.pack(f"<{len(flat)}f", *flat))

with grpc.insecure_channel(target) as channel:
    stub = rpc.GRPCInferenceServiceStub(channel)
    live = stub.ServerLive(pb.ServerLiveRequest()).live
    response = stub.ModelInfer(request, timeout=10)
    try:
        stub.ModelInfer(pb.ModelInferRequest(model_name=model), timeout=10)
        bad = None
    except grpc.RpcError as error:
        bad = {"code": error.code().name, "details": error.details()}

raw = response.raw_output_contents[0]
print(json.dumps({
    "live": live,
    "id": response.id,
    "model": response.model_name,
    "version": response.model_version,
    "output": response.outputs[0].name,
    "shape": list(response.outputs[0].shape),
    "values": list(struct.unpack(f"<{len(raw) // 4}f", raw)),
    "bad": bad,
}))
