namespace Dynamo.Sidecar.Metering;

/// <summary>How a metered request ended: the <c>status</c> and <c>error_type</c> labels (SPEC §2).</summary>
internal readonly record struct RequestOutcome(string ErrorType, bool ClientDisconnected = false)
{
    public static RequestOutcome Success => new(string.Empty);
    public static RequestOutcome Unavailable => new("unavailable");
    public static RequestOutcome ResponseTimeout => new("response_timeout");
    public static RequestOutcome Internal => new("internal");
    public static RequestOutcome Disconnected => new("cancelled", ClientDisconnected: true);

    public bool IsSuccess => ErrorType.Length == 0;

    public string Status => IsSuccess ? "success" : "error";

    /// <summary>Maps the worker's HTTP status to an outcome.</summary>
    public static RequestOutcome FromStatusCode(int statusCode) => statusCode switch
    {
        < 400 => Success,
        404 => new("not_found"),
        429 or 529 => new("overload"),
        499 => new("cancelled"),
        < 500 => new("validation"),
        501 => new("not_implemented"),
        503 => Unavailable,
        _ => Internal,
    };
}
