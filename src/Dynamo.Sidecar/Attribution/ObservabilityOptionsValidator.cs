using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Attribution;

/// <summary>Checks the data annotations of the nested section and keeps credentials out of the <c>tenant</c> label.</summary>
internal sealed class ObservabilityOptionsValidator : IValidateOptions<ObservabilityOptions>
{
    private static readonly ObservabilityOptionsAnnotations Annotations = new();

    // A label is exported to anyone who can scrape; a key in it would be a leaked key.
    private static readonly string[] CredentialHeaders = ["authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"];

    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var failures = new List<string>(Annotations.Validate(name, options).Failures ?? []);
        var attribution = options.Attribution;

        if (attribution.Header is { Length: > 0 } header)
        {
            if (CredentialHeaders.Contains(header.Trim(), StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"Sidecar:Attribution:Header '{header}' carries credentials and can never be a label.");
            }
            else if (!header.All(IsTokenChar))
            {
                failures.Add($"Sidecar:Attribution:Header '{header}' is not a valid HTTP header name.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c);
}

/// <summary>The data annotations of <see cref="ObservabilityOptions"/>, checked by generated code (Native AOT too).</summary>
[OptionsValidator]
internal sealed partial class ObservabilityOptionsAnnotations : IValidateOptions<ObservabilityOptions>;
