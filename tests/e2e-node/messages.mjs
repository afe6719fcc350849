// Drives the official `@anthropic-ai/sdk` npm client against one Anthropic-compatible base URL and
// prints, as one JSON object on stdout, what a client application would see of a streamed and of a
// unary Messages API call: the text, how the message ended, and its usage.
//
//   usage: node messages.mjs BASE_URL        (e.g. http://127.0.0.1:8080; the SDK adds /v1/messages)
//
// The end-to-end tests run it once against llama-server directly and once through the sidecar and
// compare the two summaries. Sampling is seeded (greedy sampling would make the tests' random model
// write only newlines; llama.cpp's /v1/messages drops the body's seed and uses the one llama-server was
// started with) and short; the summary leaves out the message ids, which change from call to call.
import Anthropic from '@anthropic-ai/sdk';

const baseURL = process.argv[2];
if (!baseURL) {
  console.error('usage: node messages.mjs BASE_URL');
  process.exit(2);
}

const client = new Anthropic({ baseURL, apiKey: 'sk-ant-e2e-not-checked', maxRetries: 0, timeout: 30_000 });
const sampling = { model: 'tiny', max_tokens: 12, temperature: 1, top_k: 40, seed: 42 };

async function streamMessage(content) {
  const stream = await client.messages.create({ ...sampling, messages: [{ role: 'user', content }], stream: true });
  const summary = {
    text: '',
    textDeltas: 0,
    events: {},
    model: null,
    stopReason: null,
    startUsage: null,
    deltaUsage: null,
  };
  for await (const event of stream) {
    summary.events[event.type] = (summary.events[event.type] ?? 0) + 1;
    switch (event.type) {
      case 'message_start':
        summary.model = event.message.model;
        summary.startUsage = event.message.usage;
        break;
      case 'content_block_delta':
        if (event.delta.type === 'text_delta') {
          summary.text += event.delta.text;
          summary.textDeltas++;
        }
        break;
      case 'message_delta':
        summary.stopReason = event.delta.stop_reason;
        summary.deltaUsage = event.usage;
        break;
    }
  }
  return summary;
}

async function unaryMessage(content) {
  const message = await client.messages.create({ ...sampling, messages: [{ role: 'user', content }] });
  return {
    text: message.content.filter((block) => block.type === 'text').map((block) => block.text).join(''),
    blocks: message.content.map((block) => block.type),
    role: message.role,
    type: message.type,
    model: message.model,
    stopReason: message.stop_reason,
    usage: message.usage,
  };
}

// One prompt per scenario, run in a fixed order, so the worker's prompt cache is in the same state
// for every run that follows a first (warm-up) run.
const summary = {
  messageStream: await streamMessage('node anthropic client, stream: why is the sky blue?'),
  messageUnary: await unaryMessage('node anthropic client, unary: count to five'),
};

process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
