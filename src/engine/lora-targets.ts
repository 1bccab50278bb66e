// The projections a LoRA adapter trains (every linear layer of a decoder block, as RL Swarm's PEFT configs
// and most GRPO recipes do), in a fixed order, with their (out, in) sizes. No imports: layout.ts, model.ts
// and lora.ts all read it (types only from api.ts).
import type { ModelConfig } from './api.ts';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** the HF module holding a target: self_attn or mlp */
export function loraModule(t: LoraTarget): 'self_attn' | 'mlp' {
  return t === 'gate_proj' || t === 'up_proj' || t === 'down_proj' ? 'mlp' : 'self_attn';
}

/** (out, in) of a target's weight */
export function loraShape(config: ModelConfig, t: LoraTarget): [number, number] {
  const C = config.hidden_size, I = config.intermediate_size;
  const D = config.head_dim ?? C / config.num_attention_heads;
  const HD = config.num_attention_heads * D, KD = config.num_key_value_heads * D;
  const shapes: Record<LoraTarget, [number, number]> = {
    q_proj: [HD, C], k_proj: [KD, C], v_proj: [KD, C], o_proj: [C, HD], gate_proj: [I, C], up_proj: [I, C], down_proj: [C, I],
  };
  return shapes[t];
}
