/**
 * The transport limit of the serving benchmark: a grpc-js server that decodes each ModelInfer
 * request with the same generated code as Vigil (ts-proto over @grpc/grpc-js) and answers a
 * constant FP32 tensor in raw_output_contents, with no model, queue, validation or observability.
 * Whatever Vigil spends beyond this server's cost per request is Vigil's own.
 *
 *   node --import tsx bench/constant-server.ts --outputs 2     (prints {"port": N} on stdout)
 */
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { GRPCInferenceServiceService, type ModelInferRequest, ModelInferResponse, type ServerLiveRequest, type ServerLiveResponse } from "@vigil/proto";
import { flag } from "./args.js";

const width = Number(flag("outputs") ?? 2);
const answer = Buffer.from(new Float32Array(width).fill(0.5).buffer);

const server = new Server();
// grpc-js answers UNIMPLEMENTED for every method not given here.
server.addService(GRPCInferenceServiceService, {
  serverLive: (_call: ServerUnaryCall<ServerLiveRequest, ServerLiveResponse>, callback: sendUnaryData<ServerLiveResponse>) => callback(null, { live: true }),
  modelInfer: (call: ServerUnaryCall<ModelInferRequest, ModelInferResponse>, callback: sendUnaryData<ModelInferResponse>) => {
    const rows = call.request.inputs[0]?.shape[0] ?? 1n;
    callback(
      null,
      ModelInferResponse.fromPartial({
        modelName: call.request.modelName,
        modelVersion: "1",
        id: call.request.id,
        outputs: [{ name: "output", datatype: "FP32", shape: [rows, BigInt(width)] }],
        rawOutputContents: [answer],
      }),
    );
  },
});
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(JSON.stringify({ port }));
});
process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
