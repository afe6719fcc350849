using System.Text;
using System.Text.RegularExpressions;

namespace Dynamo.Sidecar.SoakTool.Traffic;

/// <summary>
/// Checks SPEC §1.4 on live traffic: a client that did not ask for usage receives the worker's stream byte for byte,
/// minus the usage-only chunk. The reference is the same request sent straight to the worker with usage on (as the
/// sidecar sends it upstream). Ids and timestamps differ per request, so they are blanked on both sides first;
/// the reference's model name is its own (so its tokens stay out of the soak's books) and is blanked too.
/// </summary>
internal sealed partial class StreamComparison(HttpClient client, Uri workerUrl)
{
    public const string ReferenceModel = "soak-reference";

    /// <summary>Returns null when the bytes match, else what differs.</summary>
    public async Task<string?> CompareAsync(SoakRequest plan, byte[] clientBody, CancellationToken cancellationToken)
    {
        var body = SoakClient.BodyOf(plan with { IncludeUsage = true })
            .Replace($"\"model\":\"{plan.Model}\"", $"\"model\":\"{ReferenceModel}\"", StringComparison.Ordinal);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(workerUrl, plan.Path))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        // The reference needs the same bytes, not the same timing.
        request.Headers.TryAddWithoutValidation("x-sim-tokens-per-second", "0");
        request.Headers.TryAddWithoutValidation("x-sim-ttft-ms", "0");
        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var reference = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);

        var expected = Normalize(string.Concat(reference.Split("\n\n").Where(e => e.Length > 0 && !e.Contains("\"choices\":[],\"usage\":{", StringComparison.Ordinal)).Select(e => e + "\n\n")));
        var actual = Normalize(Encoding.UTF8.GetString(clientBody));
        if (expected == actual)
        {
            return null;
        }

        var at = 0;
        while (at < Math.Min(expected.Length, actual.Length) && expected[at] == actual[at])
        {
            at++;
        }

        return $"client bytes differ from the worker's at byte {at} of {actual.Length} (worker: {expected.Length})";
    }

    private static string Normalize(string stream) =>
        Created().Replace(Id().Replace(stream.Replace(ReferenceModel, SoakRequest.CleanModel, StringComparison.Ordinal), "\"id\":\"\""), "\"created\":0");

    [GeneratedRegex("\"id\":\"[^\"]*\"")]
    private static partial Regex Id();

    [GeneratedRegex("\"created\":[0-9]+")]
    private static partial Regex Created();
}
