using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Hosting;

/// <summary>Checks the data annotations of the section and its nested sections, then what annotations cannot say.</summary>
internal sealed partial class SidecarOptionsValidator : IValidateOptions<SidecarOptions>
{
    private static readonly SidecarOptionsAnnotations Annotations = new();

    // A bare number binds as days ("150" is 150 days, not seconds); an hour already outlasts any sane grace period.
    private static readonly TimeSpan MaxDrainTimeout = TimeSpan.FromHours(1);

    // Below a second the probe would hammer the worker; above an hour the model gauges are no longer news.
    private static readonly TimeSpan MinReadinessInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxReadinessInterval = TimeSpan.FromHours(1);

    // The quiet is read every 250 ms; past an hour the memory is better left to the pod's limit.
    private static readonly TimeSpan MinIdleTrimAfter = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxIdleTrimAfter = TimeSpan.FromHours(1);

    // The families' own labels, and the histogram bucket label, which a constant label must not shadow.
    private static readonly string[] FamilyLabels = ["model", "endpoint", "request_type", "status", "error_type", "le"];

    public ValidateOptionsResult Validate(string? name, SidecarOptions options)
    {
        var failures = new List<string>(Annotations.Validate(name, options).Failures ?? []);
        if (options.AdminAddress is not ("*" or "") && !IPAddress.TryParse(options.AdminAddress, out _))
        {
            failures.Add($"Sidecar:AdminAddress '{options.AdminAddress}' is neither '*' nor an IP address.");
        }

        if (options.DrainTimeout < TimeSpan.Zero || options.DrainTimeout > MaxDrainTimeout)
        {
            failures.Add($"Sidecar:DrainTimeout '{options.DrainTimeout}' must be between 00:00:00 and {MaxDrainTimeout:c} (hh:mm:ss; a bare number means days).");
        }

        if (options.ReadinessInterval != TimeSpan.Zero
            && (options.ReadinessInterval < MinReadinessInterval || options.ReadinessInterval > MaxReadinessInterval))
        {
            failures.Add($"Sidecar:ReadinessInterval '{options.ReadinessInterval}' must be 00:00:00 (probe only on /readyz) or between {MinReadinessInterval:c} and {MaxReadinessInterval:c} (hh:mm:ss; a bare number means days).");
        }

        if (options.IdleTrimAfter != TimeSpan.Zero
            && (options.IdleTrimAfter < MinIdleTrimAfter || options.IdleTrimAfter > MaxIdleTrimAfter))
        {
            failures.Add($"Sidecar:IdleTrimAfter '{options.IdleTrimAfter}' must be 00:00:00 (never trim) or between {MinIdleTrimAfter:c} and {MaxIdleTrimAfter:c} (hh:mm:ss; a bare number means days).");
        }

        if (options.Metrics.Models.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add("Sidecar:Metrics:Models must not contain empty names.");
        }

        foreach (var (label, value) in options.Metrics.ConstantLabels)
        {
            var key = $"Sidecar:Metrics:ConstantLabels:{label}";
            if (!LabelName().IsMatch(label) || label.StartsWith("__", StringComparison.Ordinal))
            {
                failures.Add($"{key}: '{label}' is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with '__').");
            }
            else if (FamilyLabels.Contains(label))
            {
                failures.Add($"{key}: '{label}' is a label of the sidecar's own families ({string.Join(", ", FamilyLabels)}).");
            }

            if (string.IsNullOrEmpty(value))
            {
                // Prometheus treats an empty label value as no label at all.
                failures.Add($"{key} has no value.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    [GeneratedRegex(@"^[a-zA-Z_][a-zA-Z0-9_]*\z")]
    private static partial Regex LabelName();
}

/// <summary>
/// The data annotations of <see cref="SidecarOptions"/>, checked by generated code rather than reflection, so that the
/// Native AOT build checks them too.
/// </summary>
[OptionsValidator]
internal sealed partial class SidecarOptionsAnnotations : IValidateOptions<SidecarOptions>;
