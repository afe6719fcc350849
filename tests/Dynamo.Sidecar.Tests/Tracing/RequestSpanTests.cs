using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tracing;

namespace Dynamo.Sidecar.Tests.Tracing;

public class RequestSpanTests
{
    [Theory]
    [InlineData(nameof(MeteredEndpoint.ChatCompletions), "chat")]
    [InlineData(nameof(MeteredEndpoint.Responses), "chat")]
    [InlineData(nameof(MeteredEndpoint.Completions), "text_completion")]
    [InlineData(nameof(MeteredEndpoint.Embeddings), "embeddings")]
    public void GenAiOperationName_OfEachEndpoint(string endpoint, string operation) =>
        Assert.Equal(operation, RequestSpan.OperationName(Enum.Parse<MeteredEndpoint>(endpoint)));
}
