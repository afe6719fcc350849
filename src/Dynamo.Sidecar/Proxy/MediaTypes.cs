namespace Dynamo.Sidecar.Proxy;

internal static class MediaTypes
{
    public static bool IsJson(string? mediaType) =>
        mediaType is not null
        && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    public static bool IsEventStream(string? mediaType) =>
        string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);
}
