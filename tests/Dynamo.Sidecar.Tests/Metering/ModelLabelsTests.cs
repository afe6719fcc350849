using System.Collections.Concurrent;
using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Metering;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Tests.Metering;

public class ModelLabelsTests
{
    private static ModelLabels Labels(int maxModels = 100, params string[] allowList) =>
        new(Options.Create(new SidecarOptions { Metrics = new MetricsOptions { MaxModels = maxModels, Models = allowList } }));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void MissingModel_IsUnknownModel(string? model) => Assert.Equal("unknown_model", Labels().LabelFor(model));

    [Fact]
    public void AllowList_OnlyListedNamesAreLabels_ExactCase()
    {
        var labels = Labels(maxModels: 1, "llama-3.1-8b", "qwen2.5-7b");

        Assert.Equal("llama-3.1-8b", labels.LabelFor("llama-3.1-8b"));
        Assert.Equal("qwen2.5-7b", labels.LabelFor("qwen2.5-7b"));
        Assert.Equal("unknown_model", labels.LabelFor("Llama-3.1-8B"));
        Assert.Equal("unknown_model", labels.LabelFor("gpt-4o"));
        Assert.Equal("unknown_model", labels.LabelFor(null));
        // The allow-list wins over the first-N cap.
        Assert.Equal("llama-3.1-8b", labels.LabelFor("llama-3.1-8b"));
    }

    [Fact]
    public void WithoutAllowList_TheFirstNNamesAreAdmitted_ThenUnknown_AndAdmittedNamesStay()
    {
        var labels = Labels(maxModels: 3);

        Assert.Equal("a", labels.LabelFor("a"));
        Assert.Equal("b", labels.LabelFor("b"));
        Assert.Equal("a", labels.LabelFor("a"));
        Assert.Equal("c", labels.LabelFor("c"));
        Assert.Equal("unknown_model", labels.LabelFor("d"));
        Assert.Equal("unknown_model", labels.LabelFor("e"));
        Assert.Equal("b", labels.LabelFor("b"));
        Assert.Equal("c", labels.LabelFor("c"));
    }

    [Fact]
    public void DefaultCap_Is100()
    {
        var labels = new ModelLabels(Options.Create(new SidecarOptions()));

        var admitted = Enumerable.Range(0, 150).Select(i => labels.LabelFor($"model-{i}")).Count(l => l != "unknown_model");

        Assert.Equal(100, admitted);
    }

    [Fact]
    public void AbsurdlyLongName_IsUnknownModel_AndTakesNoSlot()
    {
        var labels = Labels(maxModels: 1);

        Assert.Equal("unknown_model", labels.LabelFor(new string('m', 10_000)));
        Assert.Equal("real", labels.LabelFor("real"));
    }

    [Fact]
    public void FirstNCap_IsExact_UnderConcurrency()
    {
        const int cap = 10;
        for (var round = 0; round < 20; round++)
        {
            var labels = Labels(maxModels: cap);
            var results = new ConcurrentBag<(string Model, string Label)>();
            using var start = new Barrier(8);
            var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < 200; i++)
                {
                    var model = $"model-{(i * 7 + t) % 100}";
                    results.Add((model, labels.LabelFor(model)));
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());

            var admitted = results.Where(r => r.Label != "unknown_model").Select(r => r.Model).Distinct().ToList();
            Assert.Equal(cap, admitted.Count);
            Assert.All(results, r => Assert.True(r.Label == r.Model || r.Label == "unknown_model"));
            // A name is either always admitted or never: once in, it stays in; the cap leaves no name half in.
            foreach (var group in results.GroupBy(r => r.Model))
            {
                var labelsSeen = group.Select(r => r.Label).Distinct().ToList();
                if (admitted.Contains(group.Key))
                {
                    Assert.Equal([group.Key], labelsSeen);
                    Assert.Equal(group.Key, labels.LabelFor(group.Key));
                }
                else
                {
                    Assert.Equal(["unknown_model"], labelsSeen);
                }
            }
        }
    }
}
