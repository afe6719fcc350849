using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.Tests.Workers;

/// <summary>
/// Pins the bytes the Workers builders write to what each worker's serializer writes (the builders cite the
/// file and commit): spacing, key order, nulls kept or dropped, framing. A change to a builder that drifts from
/// its worker fails here, not as a puzzling metering test.
/// </summary>
public class WorkerStreamBytesTests
{
    private static readonly Generation Two = new("m", ["Hi", " <b>é"], PromptTokens: 3, CachedTokens: 1);

    [Fact]
    public void Json_styles_escape_as_python_go_and_pydantic_do()
    {
        var value = Json.Object(("a", "<é\u0001\"\\"), ("b", Json.Array(1, null, true)));

        Assert.Equal("""{"a": "<\u00e9\u0001\"\\", "b": [1, null, true]}""", value.ToJson(JsonStyle.PythonDumps));
        Assert.Equal("""{"a":"\u003cé\u0001\"\\","b":[1,null,true]}""", value.ToJson(JsonStyle.GoMarshal));
        Assert.Equal("""{"a":"<é\u0001\"\\","b":[1,null,true]}""", value.ToJson(JsonStyle.Compact));
    }

    [Fact]
    public void Vllm_chat_writes_set_fields_only_and_usage_only_at_the_end()
    {
        var events = VllmStream.Chat(Two).Events;

        Assert.Equal(
            """data: {"id":"chatcmpl-9f0a6c3e1d2b4a5f8e7d6c5b4a3f2e1d","object":"chat.completion.chunk","created":1730000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null,"prompt_text":null}""" + "\n\n",
            events[0].Text);
        Assert.Equal(
            """{"id":"chatcmpl-9f0a6c3e1d2b4a5f8e7d6c5b4a3f2e1d","object":"chat.completion.chunk","created":1730000000,"model":"m","choices":[{"index":0,"delta":{"content":" <b>é"},"logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":null}]}""",
            events[2].Data);
        Assert.Equal(
            """{"id":"chatcmpl-9f0a6c3e1d2b4a5f8e7d6c5b4a3f2e1d","object":"chat.completion.chunk","created":1730000000,"model":"m","choices":[],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1}}}""",
            events[3].Data);
        Assert.Equal("data: [DONE]\n\n", events[4].Text);
    }

    [Fact]
    public void Vllm_error_event_is_python_json_dumps()
    {
        var error = VllmStream.ChatFailingAfter(Two, tokens: 1).Texts(WorkerEventKind.Error).Single();

        Assert.Equal("""data: {"error": {"message": "Internal server error", "type": "InternalServerError", "param": null, "code": 500}}""" + "\n\n", error);
    }

    [Fact]
    public void Sglang_chat_always_writes_reasoning_content_and_matched_stop()
    {
        var content = SglangStream.Chat(Two).Texts(WorkerEventKind.Content)[0];

        Assert.Equal(
            """data: {"id":"3f6c2a9e8b7d4c1fa0e5d2b8c7f6a1e4","object":"chat.completion.chunk","created":1730000000,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":null,"content":"Hi"},"logprobs":null,"finish_reason":null,"matched_stop":null}]}""" + "\n\n",
            content);
    }

    [Fact]
    public void TrtLlm_role_chunk_has_a_space_before_the_blank_line()
    {
        var role = TrtLlmStream.Chat(Two).Texts(WorkerEventKind.Role).Single();

        Assert.EndsWith("""{"index":0,"delta":{"role":"assistant"}}]} """ + "\n\n", role, StringComparison.Ordinal);
    }

    [Fact]
    public void Tgi_completions_chunks_put_object_first_and_say_finish_reason_empty_until_the_end()
    {
        var events = TgiStream.Completions(Two).Events;

        Assert.Equal(
            """{"object":"text_completion","id":"","created":1730000000,"choices":[{"index":0,"text":"Hi","logprobs":null,"finish_reason":""}],"model":"m","system_fingerprint":"3.3.6-dev0-native"}""",
            events[0].Data);
        Assert.Equal(
            """{"object":"text_completion","id":"","created":1730000000,"model":"m","system_fingerprint":"3.3.6-dev0-native","choices":[{"index":0,"text":" <b>é","logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}""",
            events[1].Data);
    }

    [Fact]
    public void Ollama_completions_write_zero_usage_on_every_chunk_html_escaped()
    {
        var content = OllamaStream.Completions(Two).Texts(WorkerEventKind.Content)[1];

        Assert.Equal(
            """data: {"id":"cmpl-512","object":"text_completion","created":1730000000,"choices":[{"text":" \u003cb\u003eé","index":0,"finish_reason":null}],"model":"m","system_fingerprint":"fp_ollama","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}""" + "\n\n",
            content);
    }

    [Fact]
    public void LmDeploy_chat_chunks_are_json_dumps_with_usage_null_last()
    {
        var content = LmDeployStream.Chat(Two).Events.Where(e => e.Kind == WorkerEventKind.Content).ElementAt(1);

        Assert.Equal(
            """{"id": "chatcmpl-5NnWbTqE6hZkRz2dVyXcJa", "object": "chat.completion.chunk", "created": 1730000000, "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": " <b>\u00e9"}, "finish_reason": "length"}], "usage": null}""",
            content.Data);
    }

    [Fact]
    public void LlamaCpp_lists_choices_first_and_ends_each_choice_with_usage_and_timings()
    {
        var stream = LlamaCppStream.Chat(Two with { Choices = 2 });

        Assert.Equal(
            """{"choices":[{"finish_reason":null,"index":1,"delta":{"role":"assistant","content":null}}],"created":1730000000,"id":"chatcmpl-Rk3sT9vWx2Yz4Ab6Cd8Ef0Gh","model":"m","system_fingerprint":"b6610-00efb3e1","object":"chat.completion.chunk"}""",
            stream.Events[2].Data);
        Assert.All(stream.Texts(WorkerEventKind.UsageOnly), usage => Assert.Contains(
            "\"usage\":{\"completion_tokens\":2,\"prompt_tokens\":3,\"total_tokens\":5},\"timings\":{\"cache_n\":1,\"prompt_n\":2,", usage, StringComparison.Ordinal));
    }

    [Fact]
    public void Anthropic_events_name_their_type_and_the_stream_ends_with_message_stop()
    {
        var stream = AnthropicStream.Messages(Two);

        Assert.Equal(
            "event: message_start\ndata: " + """{"type": "message_start", "message": {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "content": [], "model": "m", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 2, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1, "output_tokens": 1}}}""" + "\n\n",
            stream.Events[0].Text);
        Assert.Equal(
            "event: message_delta\ndata: " + """{"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence":null}, "usage": {"output_tokens": 2}}""" + "\n\n",
            stream.Events[^2].Text);
        Assert.Equal("event: message_stop\ndata: {\"type\": \"message_stop\"}\n\n", stream.Events[^1].Text);
    }
}
