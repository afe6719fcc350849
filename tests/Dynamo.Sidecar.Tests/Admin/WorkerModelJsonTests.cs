using System.Text;
using Dynamo.Sidecar.Admin;

namespace Dynamo.Sidecar.Tests.Admin;

public sealed class WorkerModelJsonTests
{
    // vLLM's ModelList (vllm/entrypoints/openai/protocol.py: ModelCard with max_model_len and permission).
    private const string Vllm = """
        {"object":"list","data":[{"id":"Qwen/Qwen3-8B","object":"model","created":1730000000,"owned_by":"vllm","root":"Qwen/Qwen3-8B","parent":null,"max_model_len":32768,
        "permission":[{"id":"modelperm-0f1e","object":"model_permission","created":1730000000,"allow_create_engine":false,"allow_sampling":true,"allow_logprobs":true,"allow_search_indices":false,"allow_view":true,"allow_fine_tuning":false,"organization":"*","group":null,"is_blocking":false}]},
        {"id":"sql-lora","object":"model","created":1730000000,"owned_by":"vllm","root":"/adapters/sql","parent":"Qwen/Qwen3-8B","max_model_len":32768,"permission":[]}]}
        """;

    // llama.cpp's /v1/models (tools/server/server-context.cpp, get_res_models): no max_model_len.
    private const string LlamaCppModels = """
        {"models":[{"name":"tiny","model":"tiny","modified_at":"","size":"","digest":"","type":"model","description":"","tags":[""],"capabilities":["completion"],"parameters":"","details":{"parent_model":"","format":"gguf","family":"","families":[""],"parameter_size":"","quantization_level":""}}],
        "object":"list","data":[{"id":"tiny","aliases":["tiny"],"tags":[],"object":"model","created":1730000000,"owned_by":"llamacpp","meta":{"vocab_type":1,"n_vocab":32000,"n_ctx":2048,"n_ctx_train":128,"n_embd":64,"n_params":4477504,"size":17928192,"ftype":0}}]}
        """;

    // llama.cpp's /props (get_res_props): the slot's context under default_generation_settings.
    private const string LlamaCppProps = """
        {"default_generation_settings":{"params":{"n_predict":-1,"seed":4294967295,"temperature":0.8,"samplers":["top_k","top_p"]},"n_ctx":2048},
        "total_slots":2,"model_alias":"tiny","model_ftype":0,"model_path":"/cache/models/tiny.gguf","modalities":{"vision":false,"video":false,"audio":false},
        "endpoint_slots":true,"endpoint_props":false,"endpoint_metrics":true,"chat_template":"{% for message in messages %}{{ message.content }}{% endfor %}","bos_token":"<s>","eos_token":"</s>","build_info":"b1-de3ff81","is_sleeping":false}
        """;

    [Fact]
    public void Vllm_models_carry_their_max_model_len()
    {
        var models = WorkerModelJson.ReadModelList(Bytes(Vllm));

        Assert.Equal([new WorkerModel("Qwen/Qwen3-8B", 32768), new WorkerModel("sql-lora", 32768)], models);
    }

    [Fact]
    public void LlamaCpp_models_have_no_length_and_its_props_give_the_slot_context()
    {
        Assert.Equal([new WorkerModel("tiny", null)], WorkerModelJson.ReadModelList(Bytes(LlamaCppModels)));
        Assert.Equal(new WorkerProps("tiny", 2048), WorkerModelJson.ReadProps(Bytes(LlamaCppProps)));
    }

    [Theory]
    // TensorRT-LLM and OpenAI: no length.
    [InlineData("""{"object":"list","data":[{"id":"m","object":"model","created":1,"owned_by":"tensorrt_llm"}]}""", "m", null)]
    // Lengths that are no length: null, zero, negative, fractional, a string, too large for a long.
    [InlineData("""{"data":[{"id":"m","max_model_len":null}]}""", "m", null)]
    [InlineData("""{"data":[{"id":"m","max_model_len":0}]}""", "m", null)]
    [InlineData("""{"data":[{"id":"m","max_model_len":-5}]}""", "m", null)]
    [InlineData("""{"data":[{"id":"m","max_model_len":4096.5}]}""", "m", null)]
    [InlineData("""{"data":[{"id":"m","max_model_len":"4096"}]}""", "m", null)]
    [InlineData("""{"data":[{"id":"m","max_model_len":1e40}]}""", "m", null)]
    // Entries without a usable id are skipped; a repeated id counts once, with its first entry.
    [InlineData("""{"data":[{"id":""},{"id":7},{"name":"x"},null,"m2",[],{"id":"m","max_model_len":8},{"id":"m","max_model_len":9}]}""", "m", 8L)]
    public void Odd_entries_are_tolerated(string json, string id, long? length)
    {
        Assert.Equal([new WorkerModel(id, length)], WorkerModelJson.ReadModelList(Bytes(json)));
    }

    [Fact]
    public void An_empty_list_is_a_list_of_no_model()
    {
        Assert.Empty(WorkerModelJson.ReadModelList(Bytes("""{"object":"list","data":[]}"""))!);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<html>Not Found</html>")]
    [InlineData("""{"object":"list","data":[{"id":"m"}""")]
    [InlineData("""{"object":"list"}""")]
    [InlineData("""{"data":{"id":"m"}}""")]
    [InlineData("""[{"id":"m"}]""")]
    [InlineData("null")]
    [InlineData("""{"error":{"message":"Not Found","type":"not_found_error","code":404}}""")]
    public void Anything_else_is_no_model_list(string json)
    {
        Assert.Null(WorkerModelJson.ReadModelList(Bytes(json)));
    }

    [Fact]
    public void Nesting_deeper_than_the_reader_allows_is_no_model_list()
    {
        var deep = """{"data":[{"id":"m","x":""" + new string('[', 200) + new string(']', 200) + "}]}";

        Assert.Null(WorkerModelJson.ReadModelList(Bytes(deep)));
    }

    [Theory]
    // A llama.cpp router answers /props for itself with n_ctx 0.
    [InlineData("""{"role":"router","model_alias":"llama-server","model_path":"none","default_generation_settings":{"params":{},"n_ctx":0}}""")]
    // vLLM and SGLang have no /props; these are what a 404 page or an older shape may look like.
    [InlineData("""{"detail":"Not Found"}""")]
    [InlineData("""{"n_ctx":4096}""")]
    [InlineData("""{"default_generation_settings":{"n_ctx":"4096"}}""")]
    [InlineData("""{"default_generation_settings":[4096]}""")]
    [InlineData("not json")]
    public void Props_without_a_positive_slot_context_give_no_length(string json)
    {
        Assert.Null(WorkerModelJson.ReadProps(Bytes(json)));
    }

    [Fact]
    public void Props_without_an_alias_still_give_the_length()
    {
        Assert.Equal(new WorkerProps(null, 512), WorkerModelJson.ReadProps(Bytes("""{"default_generation_settings":{"n_ctx":512},"model_alias":3}""")));
    }

    private static byte[] Bytes(string json) => Encoding.UTF8.GetBytes(json);
}
