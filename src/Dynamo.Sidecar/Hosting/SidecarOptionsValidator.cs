using System.Net;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Hosting;

/// <summary>Checks what data annotations cannot: values that must parse, and nested sections.</summary>
internal sealed class SidecarOptionsValidator : IValidateOptions<SidecarOptions>
{
    // A bare number binds as days ("150" is 150 days, not seconds); an hour already outlasts any sane grace period.
    private static readonly TimeSpan MaxDrainTimeout = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, SidecarOptions options)
    {
        var failures = new List<string>();
        if (options.AdminAddress is not ("*" or "") && !IPAddress.TryParse(options.AdminAddress, out _))
        {
            failures.Add($"Sidecar:AdminAddress '{options.AdminAddress}' is neither '*' nor an IP address.");
        }

        if (options.DrainTimeout < TimeSpan.Zero || options.DrainTimeout > MaxDrainTimeout)
        {
            failures.Add($"Sidecar:DrainTimeout '{options.DrainTimeout}' must be between 00:00:00 and {MaxDrainTimeout:c} (hh:mm:ss; a bare number means days).");
        }

        var nested = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(
                options.Metrics, new(options.Metrics), nested, validateAllProperties: true))
        {
            failures.AddRange(nested.Select(r => r.ErrorMessage ?? "Sidecar:Metrics is invalid."));
        }

        if (options.Metrics.Models.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add("Sidecar:Metrics:Models must not contain empty names.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
