using Dynamo.Sidecar.Hosting;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Metering;

/// <summary>
/// Turns a request's <c>model</c> into a label value while bounding the label's cardinality:
/// an allow-list when configured, else the first <see cref="MetricsOptions.MaxModels"/> distinct names.
/// </summary>
internal sealed class ModelLabels
{
    public const string Unknown = "unknown_model";

    // Longer names are almost certainly not model ids; keeping them out bounds label memory too.
    private const int MaxNameLength = 256;

    private readonly HashSet<string>? _allowList;
    private readonly FirstComeLabelValues _firstModels;

    public ModelLabels(IOptions<SidecarOptions> options)
    {
        var metrics = options.Value.Metrics;
        _allowList = metrics.Models.Length > 0 ? new HashSet<string>(metrics.Models, StringComparer.Ordinal) : null;
        _firstModels = new FirstComeLabelValues(metrics.MaxModels);
    }

    public string LabelFor(string? model)
    {
        if (string.IsNullOrEmpty(model) || model.Length > MaxNameLength)
        {
            return Unknown;
        }

        if (_allowList is not null)
        {
            return _allowList.Contains(model) ? model : Unknown;
        }

        return _firstModels.TryAdmit(model) ? model : Unknown;
    }
}
