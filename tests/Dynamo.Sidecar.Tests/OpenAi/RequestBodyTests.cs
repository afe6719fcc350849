using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.OpenAi;

public class RequestBodyTests
{
    private static RequestBody Parse(string json)
    {
        Assert.True(RequestBody.TryParse(SseText.Utf8(json), out var body), json);
        return body;
    }

    [Fact]
    public void StreamingChatRequest_ModelAndStream()
    {
        var body = Parse("""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"hi"}],"stream":true}""");

        Assert.Equal("meta-llama/Llama-3.1-8B-Instruct", body.Model);
        Assert.True(body.Stream);
        Assert.False(body.ClientWantsUsage);
        Assert.Equal(StreamOptionsKind.Absent, body.StreamOptions.Kind);
    }

    [Theory]
    [InlineData("""{"model":"m"}""", false)]
    [InlineData("""{"model":"m","stream":false}""", false)]
    [InlineData("""{"model":"m","stream":null}""", false)]
    [InlineData("""{"model":"m","stream":"true"}""", false)]
    [InlineData("""{"model":"m","stream":1}""", false)]
    [InlineData("""{"model":"m","stream":true}""", true)]
    [InlineData("""{"stream":true,"model":"m"}""", true)]
    [InlineData("""{"model":"m","str\u0065am":true}""", true)]
    public void Stream_IsTrueOnlyForTheJsonLiteralTrue(string json, bool stream) => Assert.Equal(stream, Parse(json).Stream);

    [Theory]
    [InlineData("""{"stream":true,"stream_options":{"include_usage":true}}""", true)]
    [InlineData("""{"stream":true,"stream_options":{"continuous_usage_stats":true,"include_usage":true}}""", true)]
    [InlineData("""{"stream":true,"stream_options":{"include_usage":false}}""", false)]
    [InlineData("""{"stream":true,"stream_options":{"include_usage":"true"}}""", false)]
    [InlineData("""{"stream":true,"stream_options":{"include_usage":null}}""", false)]
    [InlineData("""{"stream":true,"stream_options":{}}""", false)]
    [InlineData("""{"stream":true,"stream_options":null}""", false)]
    [InlineData("""{"stream":true,"stream_options":"include_usage"}""", false)]
    [InlineData("""{"stream":true}""", false)]
    public void ClientWantsUsage_OnlyWithIncludeUsageTrue(string json, bool wants) => Assert.Equal(wants, Parse(json).ClientWantsUsage);

    [Fact]
    public void StreamOptionsObject_SpansPointAtTheValueAndAtIncludeUsage()
    {
        const string json = """{"stream":true,"stream_options": { "include_usage" : false , "x":[1]} ,"model":"m"}""";

        var options = Parse(json).StreamOptions;

        Assert.Equal(StreamOptionsKind.Object, options.Kind);
        Assert.Equal("""{ "include_usage" : false , "x":[1]}""", json[options.Start..options.End]);
        Assert.False(options.IncludeUsage);
        Assert.Equal("false", json[options.IncludeUsageStart..options.IncludeUsageEnd]);
    }

    [Theory]
    [InlineData("""{"stream_options":null,"stream":true}""", "Null", "null")]
    [InlineData("""{"stream_options":"yes","stream":true}""", "Other", "\"yes\"")]
    [InlineData("""{"stream_options":[{"include_usage":true}],"stream":true}""", "Other", """[{"include_usage":true}]""")]
    [InlineData("""{"stream_options":7,"stream":true}""", "Other", "7")]
    public void StreamOptionsOfOtherShapes_AreLocated(string json, string kind, string value)
    {
        var options = Parse(json).StreamOptions;

        Assert.Equal(Enum.Parse<StreamOptionsKind>(kind), options.Kind);
        Assert.Equal(value, json[options.Start..options.End]);
        Assert.Null(options.IncludeUsage);
    }

    [Theory]
    [InlineData("""{"model":"m","stream":true}""")]
    [InlineData("""{"model":"m","stream":true}   """)]
    [InlineData("{\n  \"model\": \"m\",\n  \"stream\": true\n}\n")]
    [InlineData("\r\n\t {\"model\":\"m\",\"stream\":true}\r\n")]
    public void RootEnd_IsTheClosingBrace(string json)
    {
        var body = Parse(json);

        Assert.Equal('}', json[body.RootEnd]);
        Assert.Equal(json.TrimEnd().Length - 1, body.RootEnd);
    }

    [Theory]
    [InlineData("""{"model":42,"stream":true}""")]
    [InlineData("""{"model":null,"stream":true}""")]
    [InlineData("""{"model":{"name":"m"},"stream":true}""")]
    [InlineData("""{"model":["m"],"stream":true}""")]
    [InlineData("""{"stream":true}""")]
    public void NonStringOrMissingModel_IsNull_TheRestIsStillRead(string json)
    {
        var body = Parse(json);

        Assert.Null(body.Model);
        Assert.True(body.Stream);
    }

    [Fact]
    public void ModelWithUnicodeEscapes_IsUnescaped() =>
        Assert.Equal("café-😀", Parse("""{"model":"caf\u00e9-\ud83d\ude00"}""").Model);

    [Fact]
    public void NestedFieldsNamedLikeTopLevelOnes_AreIgnored()
    {
        var body = Parse("""{"messages":[{"model":"x","stream":true,"stream_options":{"include_usage":true}}],"metadata":{"stream":true},"model":"m"}""");

        Assert.Equal("m", body.Model);
        Assert.False(body.Stream);
        Assert.False(body.ClientWantsUsage);
        Assert.Equal(StreamOptionsKind.Absent, body.StreamOptions.Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("[{\"model\":\"m\",\"stream\":true}]")]
    [InlineData("\"model\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("{\"model\":\"m\",\"stream\":true")]
    [InlineData("{\"model\":\"m\",\"stream\":true,}")]
    [InlineData("{\"model\":\"m\" \"stream\":true}")]
    [InlineData("{'model':'m'}")]
    [InlineData("{\"model\":\"m\",\"stream\":true} x")]
    [InlineData("{\"model\":\"m\",\"stream\":true}{}")]
    [InlineData("{\"model\":\"m\",\"stream\":true},")]
    [InlineData("{\"model\":\"m\" /* c */,\"stream\":true}")]
    [InlineData("model=m&stream=true")]
    public void NotAJsonObject_IsRejected(string text) => Assert.False(RequestBody.TryParse(SseText.Utf8(text), out _));

    [Fact]
    public void InvalidUtf8InTheModel_IsRejected_NotThrown()
    {
        byte[] json = [.. "{\"model\":\""u8, 0xC3, 0x28, 0xFF, .. "\",\"stream\":true}"u8];

        Assert.False(RequestBody.TryParse(json, out _));
    }

    [Fact]
    public void DeepJsonSchemaInTheBody_IsStillRead()
    {
        // response_format / tools schemas nest deeper than System.Text.Json's default of 64.
        var schema = string.Concat(Enumerable.Repeat("{\"type\":\"object\",\"properties\":{\"a\":", 100)) + "{}" + new string('}', 200);
        var json = "{\"model\":\"m\",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":" + schema + "}},\"stream\":true}";

        var body = Parse(json);

        Assert.Equal("m", body.Model);
        Assert.True(body.Stream);
    }

    [Fact]
    public void DeeplyNestedBody_IsRejected_NotThrown()
    {
        var json = "{\"model\":\"m\",\"x\":" + new string('[', 5000) + new string(']', 5000) + "}";

        Assert.False(RequestBody.TryParse(SseText.Utf8(json), out _));
    }
}
