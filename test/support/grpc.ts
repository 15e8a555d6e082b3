import { type CallOptions, type ClientUnaryCall, Metadata, type ServiceError, credentials } from "@grpc/grpc-js";
import { GRPCInferenceServiceClient, HealthClient, type ModelInferRequest, type ModelStreamInferResponse } from "@vigil/proto";

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Promise form of a generated unary method, with optional metadata and call options (deadline). */
export function unary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  client: object,
  request: Req,
  metadata: Metadata = new Metadata(),
  options: Partial<CallOptions> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/**
 * Sends every request on a ModelStreamInfer call, ends it, and resolves with every response the
 * server sent back once it has ended the stream too.
 */
export function streamAll(client: GRPCInferenceServiceClient, requests: ModelInferRequest[]): Promise<ModelStreamInferResponse[]> {
  const stream = client.modelStreamInfer();
  const responses: ModelStreamInferResponse[] = [];
  const done = new Promise<ModelStreamInferResponse[]>((resolve, reject) => {
    stream.on("data", (r: ModelStreamInferResponse) => responses.push(r));
    stream.on("end", () => resolve(responses));
    stream.on("error", reject);
  });
  for (const request of requests) stream.write(request);
  stream.end();
  return done;
}

export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

export function inferenceClient(address: string): GRPCInferenceServiceClient {
  return new GRPCInferenceServiceClient(address, credentials.createInsecure());
}

export function healthClient(address: string): HealthClient {
  return new HealthClient(address, credentials.createInsecure());
}

/** Asserts a promise rejects with a gRPC status; returns the error for message checks. */
export async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error("expected the call to fail, it succeeded");
}
