using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Dynamo.Sidecar.EndToEndTests.Support;

/// <summary>
/// One real llama.cpp <c>llama-server</c> (the tiny random model, 2 slots) on a free loopback port, and
/// one sidecar in front of it (the published Native AOT binary, as it ships), shared by every test of the <see cref="LlamaCollection"/>. The tests of
/// the collection run one after the other, so each can read the sidecar's metrics as before/after deltas.
/// </summary>
public sealed class LlamaFixture : IAsyncLifetime
{
    /// <summary>The alias llama-server answers with whatever model a request names.</summary>
    public const string Model = "tiny";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private ServerProcess? _llama;
    private SidecarProcess? _sidecar;

    /// <summary>llama-server itself, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri LlamaAddress { get; private set; } = null!;

    internal RunningSidecar Sidecar => _sidecar ?? throw new InvalidOperationException("the fixture did not start");

    /// <summary>Talks to llama-server directly (its <c>/slots</c>, <c>/metrics</c>, or the API without the sidecar).</summary>
    public HttpClient Llama { get; private set; } = null!;

    /// <summary>Talks to the sidecar's proxy listener.</summary>
    public HttpClient Proxy => Sidecar.Client;

    /// <summary>llama-server's last output lines, for failure messages.</summary>
    public string LlamaOutput => _llama?.Output ?? string.Empty;

    public async Task InitializeAsync()
    {
        var deps = TestDependencies.Current;
        deps.RequireLlama();

        // --context-shift lets a generation run past the 2048-token slot, so the disconnect test can ask
        // for one that would take minutes and see it stop at once. -t 1 (after the script's -t 2, so it
        // wins): the other test projects run at the same time on two cores, and two llama.cpp threads
        // that must meet at a barrier slow down many times over when one of them is not scheduled.
        // --seed 42: the sampling seed of every request that sends none. llama.cpp's /v1/messages drops the
        // body's seed, and greedy sampling makes the random model write nothing but newlines, so the
        // Anthropic tests sample at temperature 1 and rely on this seed to get the same text every run.
        string[] extra = ["--context-shift", "-t", "1", "--seed", "42"];
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var llama = ServerProcess.Start(
                "llama-server",
                "/bin/bash",
                [deps.StartLlamaServerScript, port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. extra],
                new Dictionary<string, string> { ["LLAMA_CACHE_DIR"] = deps.LlamaCacheDir });
            LlamaAddress = new Uri($"http://127.0.0.1:{port}/");
            try
            {
                await llama.WaitUntilReadyAsync(new Uri(LlamaAddress, "health"), StartTimeout);
                _llama = llama;
                break;
            }
            catch (InvalidOperationException) when (attempt < 3 && llama.HasExited && llama.Output.Contains("bind", StringComparison.OrdinalIgnoreCase))
            {
                // The port was taken between picking and binding it: pick another.
                await llama.DisposeAsync();
            }
            catch
            {
                await llama.DisposeAsync();
                throw;
            }
        }

        Llama = new HttpClient { BaseAddress = LlamaAddress, Timeout = TimeSpan.FromSeconds(60) };
        _sidecar = await SidecarProcess.StartAsync(SidecarBuild.Published, LlamaAddress.ToString());
    }

    public async Task DisposeAsync()
    {
        Llama?.Dispose();
        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync();
        }

        if (_llama is not null)
        {
            await _llama.DisposeAsync();
        }
    }

    /// <summary>An OpenAI .NET SDK chat client whose base URL is <paramref name="baseAddress"/> + <c>/v1</c>.</summary>
    public static ChatClient ChatClientFor(Uri baseAddress) => new(
        Model,
        new ApiKeyCredential("sk-e2e-not-checked"),
        new OpenAIClientOptions
        {
            Endpoint = new Uri(baseAddress, "v1"),
            NetworkTimeout = TimeSpan.FromSeconds(60),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });

    /// <summary>How many of llama-server's slots are generating right now.</summary>
    public async Task<int> BusySlotsAsync()
    {
        using var slots = JsonDocument.Parse(await Llama.GetStringAsync("slots"));
        return slots.RootElement.EnumerateArray().Count(s => s.GetProperty("is_processing").GetBoolean());
    }
}

[CollectionDefinition(Name)]
public sealed class LlamaCollection : ICollectionFixture<LlamaFixture>
{
    public const string Name = "llama-server";
}
