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
        var listed = new List<(string Label, long? ContextLength)>(models.Count);
        var labelsListed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            var label = labels.LabelFor(model.Id);
            if (label != ModelLabels.Unknown && labelsListed.Add(label))
            {
                listed.Add((label, model.ContextLength));
            }
        }

        // Removed before the new ones are set: a scrape in between never shows a replaced model beside its
        // replacement (the two would be summed as one more ready model than the worker serves).
        foreach (var label in _exported)
        {
            if (!labelsListed.Contains(label))
            {
                metrics.ModelReady.RemoveLabelled(label);
                metrics.ModelContextLength.RemoveLabelled(label);
            }
        }

        // The context length first: a model shown ready has its length beside it.
        foreach (var (label, contextLength) in listed)
        {
            if (contextLength is { } length)
            {
                metrics.ModelContextLength.WithLabels(label).Set(length);
            }

            metrics.ModelReady.WithLabels(label).Set(1);
        }

        _exported = labelsListed;
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
