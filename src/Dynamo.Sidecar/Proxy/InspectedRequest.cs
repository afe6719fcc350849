using Dynamo.Sidecar.IO;
using Dynamo.Sidecar.OpenAi;
using Microsoft.Net.Http.Headers;

namespace Dynamo.Sidecar.Proxy;

/// <summary>
/// A metered request's body as the sidecar read it (bounded): its model and whether it streams (step 1,
/// <see cref="ReadAsync"/>), then the body the worker must receive, put back for YARP to send: rewritten for
/// forced usage, or the client's own bytes (step 2, <see cref="RewriteBody"/>).
/// </summary>
internal readonly record struct InspectedRequest(string? Model, bool IsStream, bool ClientWantsUsage)
{
    /// <summary>The body's end-user field (<see cref="RequestBody.User"/>), for tenant attribution.</summary>
    public string? User { get; init; }

    private static readonly InspectedRequest Uninspected = new(null, false, false);

    // What was read of the client's body (null when nothing was: the body flows as it comes), whether that is all
    // of it, and what it says when it is a JSON object.
    private ReadOnlyMemory<byte>? Read { get; init; }

    private bool Complete { get; init; }

    private RequestBody? Body { get; init; }

    /// <summary>Step 1: reads the body (up to <paramref name="maxBytes"/>) and what it says.</summary>
    public static async Task<InspectedRequest> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (!IsInspectable(request) || request.ContentLength > maxBytes)
        {
            return Uninspected;
        }

        var (bytes, length, complete) = await ReadBoundedAsync(request.Body, request.ContentLength, maxBytes, cancellationToken).ConfigureAwait(false);
        var read = bytes.AsMemory(0, length);
        if (!complete || !RequestBody.TryParse(read.Span, out var body))
        {
            return Uninspected with { Read = read, Complete = complete };
        }

        return new InspectedRequest(body.Model, body.Stream, body.ClientWantsUsage) { User = body.User, Read = read, Complete = true, Body = body };
    }

    /// <summary>
    /// Step 2: puts back the body the worker must receive in place of the bytes <see cref="ReadAsync"/> took: a streaming
    /// request that did not ask for usage gets <c>include_usage</c> (<see cref="UsageRequestRewriter"/>); every other
    /// byte is the client's.
    /// </summary>
    public void RewriteBody(HttpRequest request, MeteredEndpoint endpoint)
    {
        if (Read is not { } original)
        {
            return;
        }

        if (!Complete)
        {
            request.Body = new PrefixedStream(original, request.Body);
            return;
        }

        // The Responses and Messages APIs always report usage; their requests are never rewritten (SPEC §1.3).
        var upstream = Body is { } body && endpoint.ForcesUsage() ? UsageRequestRewriter.Rewrite(original, body) : original;
        SetBody(request, upstream, lengthChanged: upstream.Length != original.Length);
    }

    private static bool IsInspectable(HttpRequest request)
    {
        var encoding = request.Headers.ContentEncoding.ToString();
        if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            && MediaTypes.IsJson(contentType.MediaType.Value);
    }

    private static async Task<(byte[] Bytes, int Length, bool Complete)> ReadBoundedAsync(Stream body, long? contentLength, int maxBytes, CancellationToken cancellationToken)
    {
        var bytes = new byte[contentLength is > 0 ? (int)contentLength.Value : 4096];
        var length = 0;
        while (true)
        {
            if (length > 0 && length == contentLength)
            {
                // Kestrel enforces Content-Length: there is nothing more to read.
                return (bytes, length, true);
            }

            if (length == bytes.Length)
            {
                if (length > maxBytes)
                {
                    return (bytes, length, false);
                }

                Array.Resize(ref bytes, (int)Math.Min((long)bytes.Length * 2, maxBytes + 1L));
            }

            var read = await body.ReadAsync(bytes.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return (bytes, length, true);
            }

            length += read;
        }
    }

    private static void SetBody(HttpRequest request, ReadOnlyMemory<byte> body, bool lengthChanged)
    {
        request.Body = new PrefixedStream(body, Stream.Null);
        if (lengthChanged || request.ContentLength is null)
        {
            request.Headers.Remove(HeaderNames.TransferEncoding);
            request.ContentLength = body.Length;
        }
    }
}
