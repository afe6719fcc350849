// Drives the official `openai` npm client against one OpenAI-compatible base URL and prints, as one
// JSON object on stdout, what a client application would see: streaming chat without and with
// `stream_options.include_usage`, unary chat, and streaming legacy completions.
//
//   usage: node summarize.mjs BASE_URL        (e.g. http://127.0.0.1:8080/v1)
//
// The end-to-end tests run it once against llama-server directly and once through the sidecar and
// compare the two summaries. Requests are deterministic (temperature 0, fixed seed, few tokens), and
// the summary leaves out what changes from call to call (ids, `created`, `system_fingerprint`,
// llama.cpp's `timings`).
import OpenAI from 'openai';

const baseURL = process.argv[2];
if (!baseURL) {
  console.error('usage: node summarize.mjs BASE_URL');
  process.exit(2);
}

const client = new OpenAI({ baseURL, apiKey: 'sk-e2e-not-checked', maxRetries: 0, timeout: 30_000 });
const sampling = { model: 'tiny', temperature: 0, seed: 42, max_tokens: 12 };

async function streamChat(content, streamOptions) {
  const request = { ...sampling, messages: [{ role: 'user', content }], stream: true };
  if (streamOptions !== undefined) {
    request.stream_options = streamOptions;
  }
  const stream = await client.chat.completions.create(request);
  const summary = {
    content: '',
    roles: [],
    finishReasons: [],
    models: [],
    chunks: 0,
    contentChunks: 0,
    usageChunks: 0,
    usage: null,
  };
  for await (const chunk of stream) {
    summary.chunks++;
    if (!summary.models.includes(chunk.model)) {
      summary.models.push(chunk.model);
    }
    for (const choice of chunk.choices ?? []) {
      if (choice.delta?.role) {
        summary.roles.push(choice.delta.role);
      }
      if (typeof choice.delta?.content === 'string' && choice.delta.content.length > 0) {
        summary.content += choice.delta.content;
        summary.contentChunks++;
      }
      if (choice.finish_reason) {
        summary.finishReasons.push(choice.finish_reason);
      }
    }
    if (chunk.usage) {
      summary.usageChunks++;
      summary.usage = chunk.usage;
    }
  }
  return summary;
}

async function unaryChat(content) {
  const completion = await client.chat.completions.create({ ...sampling, messages: [{ role: 'user', content }] });
  const choice = completion.choices[0];
  return {
    content: choice.message.content,
    role: choice.message.role,
    finishReason: choice.finish_reason,
    choices: completion.choices.length,
    model: completion.model,
    object: completion.object,
    usage: completion.usage ?? null,
  };
}

async function streamCompletions(prompt) {
  const stream = await client.completions.create({ ...sampling, prompt, stream: true });
  const summary = { text: '', finishReasons: [], models: [], chunks: 0, textChunks: 0, usageChunks: 0, usage: null };
  for await (const chunk of stream) {
    summary.chunks++;
    if (!summary.models.includes(chunk.model)) {
      summary.models.push(chunk.model);
    }
    for (const choice of chunk.choices ?? []) {
      if (typeof choice.text === 'string' && choice.text.length > 0) {
        summary.text += choice.text;
        summary.textChunks++;
      }
      if (choice.finish_reason) {
        summary.finishReasons.push(choice.finish_reason);
      }
    }
    if (chunk.usage) {
      summary.usageChunks++;
      summary.usage = chunk.usage;
    }
  }
  return summary;
}

// One prompt per scenario, run in a fixed order, so the worker's prompt cache is in the same state
// for every run that follows a first (warm-up) run.
const summary = {
  chatStreamWithoutUsage: await streamChat('node client, stream without usage: why is the sky blue?'),
  chatStreamUsageFalse: await streamChat('node client, stream with include_usage false', { include_usage: false }),
  chatStreamWithUsage: await streamChat('node client, stream with usage: tell me about dragons', { include_usage: true }),
  chatUnary: await unaryChat('node client, unary: count to five'),
  completionsStream: await streamCompletions('node client, completions: once upon a time'),
};

// llama.cpp adds a `timings` object beside `usage`; it is measured per call, not part of the answer.
process.stdout.write(JSON.stringify(summary, (key, value) => (key === 'timings' ? undefined : value), 2) + '\n');
