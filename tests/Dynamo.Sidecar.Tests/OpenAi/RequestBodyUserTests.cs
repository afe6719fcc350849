using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.OpenAi;

/// <summary>The end-user field tenant attribution reads: OpenAI's <c>user</c>, Anthropic's <c>metadata.user_id</c>.</summary>
public class RequestBodyUserTests
{
    [Theory]
    [InlineData("""{"model":"m","user":"alice"}""", "alice")]
    [InlineData("""{"model":"m","metadata":{"user_id":"bob"}}""", "bob")]
    [InlineData("""{"metadata":{"tier":"x","user_id":"bob","nested":{"user_id":"no"}},"model":"m"}""", "bob")]
    [InlineData("""{"model":"m","metadata":{"user_id":"bob"},"user":"alice"}""", "alice")]
    [InlineData("""{"model":"m","user":"alice","metadata":{"user_id":"bob"}}""", "alice")]
    [InlineData("""{"model":"m","us\u0065r":"esc"}""", "esc")]
    [InlineData("""{"model":"m"}""", null)]
    [InlineData("""{"model":"m","user":null}""", null)]
    [InlineData("""{"model":"m","user":42}""", null)]
    [InlineData("""{"model":"m","user":{"id":"x"}}""", null)]
    [InlineData("""{"model":"m","metadata":"bob"}""", null)]
    [InlineData("""{"model":"m","metadata":{"user_id":7}}""", null)]
    [InlineData("""{"model":"m","messages":[{"role":"user","user":"inner"}]}""", null)]
    public void User_IsTheTopLevelUserOrElseMetadataUserId(string json, string? user)
    {
        Assert.True(RequestBody.TryParse(SseText.Utf8(json), out var body), json);

        Assert.Equal(user, body.User);
        Assert.Equal("m", body.Model);
    }

    [Fact]
    public void AUserFieldDoesNotChangeWhatElseIsRead()
    {
        Assert.True(RequestBody.TryParse(SseText.Utf8("""{"user":"u","model":"m","metadata":{"user_id":"b"},"stream":true,"stream_options":{"include_usage":true}}"""), out var body));

        Assert.True(body.Stream);
        Assert.True(body.ClientWantsUsage);
        Assert.Equal("u", body.User);
    }
}
