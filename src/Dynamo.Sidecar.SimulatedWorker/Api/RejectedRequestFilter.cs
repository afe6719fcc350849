using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary>
/// Turns a request an endpoint rejected (<see cref="BadHttpRequestException"/>) into its status and the error body
/// of the API the endpoint imitates; each API writes its own body.
/// </summary>
internal abstract class RejectedRequestFilter(ILogger logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.HttpContext.Response.HasStarted)
        {
            var http = context.HttpContext;
            Log.RequestRejected(logger, http.Request.Path.Value, ex.StatusCode, ex.Message);
            using var body = new PooledByteBuffer();
            using (var json = new Utf8JsonWriter(body, WireJson.WriterOptions))
            {
                WriteError(json, ex.StatusCode, ex.Message);
            }

            http.Response.StatusCode = ex.StatusCode;
            await JsonBody.WriteAsync(http.Response, body, http.RequestAborted);
            return Results.Empty;
        }
    }

    /// <summary>Writes the whole error body for a rejection with this status and message.</summary>
    protected abstract void WriteError(Utf8JsonWriter json, int statusCode, string message);
}
