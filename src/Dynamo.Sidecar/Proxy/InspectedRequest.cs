using Dynamo.Sidecar.IO;
using Dynamo.Sidecar.OpenAi;
using Microsoft.Net.Http.Headers;

namespace Dynamo.Sidecar.Proxy;

/// <summary>
/// Reads a metered request's body (bounded), learns its model and whether it streams, and puts
/// back the body the worker must receive: rewritten for forced usage, or the client's own bytes.
/// </summary>
internal readonly record struct InspectedRequest(string? Model, bool IsStream, bool ClientWantsUsage)
{
    /// <summary>The body's end-user field (<see cref="RequestBody.User"/>), for tenant attribution.</summary>
    public string? User { get; init; }

    private static readonly InspectedRequest Uninspected = new(null, false, false);

    public static async Task<InspectedRequest> ReadAsync(HttpRequest request, MeteredEndpoint endpoint, int maxBytes, CancellationToken cancellationToken)
    {
        if (!IsInspectable(request) || request.ContentLength > maxBytes)
        {
            return Uninspected;
        }

        var (bytes, length, complete) = await ReadBoundedAsync(request.Body, request.ContentLength, maxBytes, cancellationToken).ConfigureAwait(false);
        var original = bytes.AsMemory(0, length);
        if (!complete)
        {
            request.Body = new PrefixedStream(original, request.Body);
            return Uninspected;
        }

        if (!RequestBody.TryParse(original.Span, out var body))
        {
            SetBody(request, original, lengthChanged: false);
            return Uninspected;
        }

        // The Responses and Messages APIs always report usage; their requests are never rewritten (SPEC §1.3).
        var upstream = endpoint.ForcesUsage() ? UsageRequestRewriter.Rewrite(original, body) : original;
        SetBody(request, upstream, lengthChanged: upstream.Length != original.Length);
        return new InspectedRequest(body.Model, body.Stream, body.ClientWantsUsage) { User = body.User };
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
