using Dynamo.Sidecar.Metering;

namespace Dynamo.Sidecar.Admin;

/// <summary>
/// <c>model_ready</c> and <c>model_context_length</c>, set from what the readiness probe found (never on the request
/// path). Names go through the same bounded <see cref="ModelLabels"/> as requests: a listed model counts toward the
/// cap, and one that falls outside it (or outside the allow-list) is not exported rather than shown as unknown_model.
/// Called by one probe at a time.
/// </summary>
internal sealed class ModelGauges(SidecarMetrics metrics, ModelLabels labels)
{
    // The models of the last listing. One the worker stops listing (an unloaded LoRA adapter, a deleted Ollama model)
    // was removed on purpose: its series are removed, so that an alert on model_ready == 0 means a failing worker.
    private HashSet<string> _exported = new(StringComparer.Ordinal);

    /// <summary>The worker is ready and lists these models.</summary>
    public void Listed(IReadOnlyList<WorkerModel> models)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            var label = labels.LabelFor(model.Id);
            if (label == ModelLabels.Unknown)
            {
                continue;
            }

            listed.Add(label);
            metrics.ModelReady.WithLabels(label).Set(1);
            if (model.ContextLength is { } length)
            {
                metrics.ModelContextLength.WithLabels(label).Set(length);
            }
        }

        foreach (var label in _exported)
        {
            if (!listed.Contains(label))
            {
                metrics.ModelReady.RemoveLabelled(label);
                metrics.ModelContextLength.RemoveLabelled(label);
            }
        }

        _exported = listed;
    }

    /// <summary>The worker failed its readiness probe: none of the models it listed last is ready.</summary>
    public void WorkerDown()
    {
        foreach (var label in _exported)
        {
            metrics.ModelReady.WithLabels(label).Set(0);
        }
    }
}
