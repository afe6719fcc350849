namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>Sends a fully serialized JSON body with Content-Length, as vLLM's (uvicorn) JSON responses do.</summary>
internal static class JsonBody
{
    public const string ContentType = "application/json";

    public static async Task WriteAsync(HttpResponse response, PooledByteBuffer body, CancellationToken cancellationToken)
    {
        response.ContentType = ContentType;
        response.ContentLength = body.Length;
        await response.BodyWriter.WriteAsync(body.WrittenMemory, cancellationToken);
    }
}
