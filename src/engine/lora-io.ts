// A LoRA adapter as a PEFT folder (adapter_config.json + adapter_model.safetensors, tensor names
// base_model.model.<module>.lora_A.weight / lora_B.weight), so adapters, not whole models, are what peers
// exchange and what PEFT / transformers load. Reading is strict: a stranger's adapter must be exactly this
// base's shapes at a bounded rank, every target present, nothing else, all values finite.
import type { ModelConfig } from './api.ts';
import { ConfigError, SafetensorsError, WeightsMismatchError } from './errors.ts';
import type { FileSink, FileSource } from './hf.ts';
import { checkLora, loraLayout, loraTargetsOf, type LoraConfig } from './lora.ts';
import { LORA_TARGETS, type LoraTarget } from './lora-targets.ts';
import { parseSafetensors, serializeSafetensors } from './safetensors.ts';

const PREFIX = 'base_model.model.';

export async function saveLoraAdapter(sink: FileSink, config: ModelConfig, lora: LoraConfig, adapter: Float32Array, baseModel = ''): Promise<void> {
  const layout = loraLayout(config, lora);
  if (adapter.length !== layout.size) throw new WeightsMismatchError(`adapter has ${adapter.length} values, rank ${lora.rank} needs ${layout.size}`);
  const tensors = new Map(layout.tensors.map((t) => [PREFIX + t.name, { shape: t.shape, data: adapter.subarray(t.offset, t.offset + t.length) }]));
  // lora_alpha = r: this engine's scale alpha / r is 1 (lora.ts)
  const adapterConfig = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', r: lora.rank, lora_alpha: lora.rank, lora_dropout: 0, bias: 'none',
    target_modules: loraTargetsOf(lora), base_model_name_or_path: baseModel, fan_in_fan_out: false, inference_mode: true,
  };
  await sink.write('adapter_config.json', new TextEncoder().encode(`${JSON.stringify(adapterConfig, null, 2)}\n`));
  await sink.write('adapter_model.safetensors', serializeSafetensors(tensors));
}

export async function loadLoraAdapter(src: FileSource, config: ModelConfig): Promise<{ lora: LoraConfig; adapter: Float32Array }> {
  const cfgBytes = await src.read('adapter_config.json');
  if (!cfgBytes) throw new ConfigError('the adapter folder has no adapter_config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(new TextDecoder().decode(cfgBytes)) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`adapter_config.json is not valid JSON (${(e as Error).message})`);
  }
  if (raw.peft_type !== 'LORA') throw new ConfigError(`adapter_config.json: peft_type must be "LORA", got ${JSON.stringify(raw.peft_type)}`);
  const lora: LoraConfig = { rank: raw.r as number };
  if (raw.target_modules !== undefined) {
    const t = raw.target_modules;
    if (!Array.isArray(t) || t.length > LORA_TARGETS.length || !t.every((x) => typeof x === 'string')) {
      throw new ConfigError(`adapter_config.json: target_modules must be a list of up to ${LORA_TARGETS.length} projection names`);
    }
    // all of them is the default: a full adapter reads back as it was written, without a targets list
    if (t.length !== LORA_TARGETS.length || !LORA_TARGETS.every((x) => t.includes(x))) lora.targets = t as LoraTarget[];
  }
  checkLora(config, lora);
  if (raw.lora_alpha !== undefined && raw.lora_alpha !== lora.rank) {
    throw new ConfigError(`adapter_config.json: lora_alpha ${JSON.stringify(raw.lora_alpha)} != r ${lora.rank} (this engine's scale is 1)`);
  }
  const bytes = await src.read('adapter_model.safetensors');
  if (!bytes) throw new SafetensorsError('the adapter folder has no adapter_model.safetensors');
  const { tensors } = parseSafetensors(bytes, 'adapter_model.safetensors');
  const layout = loraLayout(config, lora);
  const adapter = new Float32Array(layout.size);
  for (const t of layout.tensors) {
    const got = tensors.get(PREFIX + t.name);
    if (!got) throw new WeightsMismatchError(`adapter is missing ${t.name}`);
    if (got.shape.join(',') !== t.shape.join(',')) throw new WeightsMismatchError(`adapter ${t.name} is [${got.shape}], expected [${t.shape}]`);
    if (!got.data.every(Number.isFinite)) throw new WeightsMismatchError(`adapter ${t.name} has a non-finite value`);
    adapter.set(got.data, t.offset);
  }
  if (tensors.size !== layout.tensors.length) {
    const extra = [...tensors.keys()].find((n) => !layout.byName.has(n.slice(PREFIX.length)));
    throw new WeightsMismatchError(`adapter has tensors this base does not (${extra})`);
  }
  return { lora, adapter };
}
