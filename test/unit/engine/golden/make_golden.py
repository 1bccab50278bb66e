"""Golden fixtures for the engine, computed independently of it: numpy, float64, following the Hugging Face
Llama / Qwen2 / Qwen3 modeling code (rotate-half RoPE with inv_freq in float32, repeat_kv, RMSNorm, SwiGLU MLP,
Qwen3's per-head q_norm / k_norm before RoPE).
Writes one HF folder per case (config.json + model.safetensors written here, not by our writer) and
expected.json with token logprobs and a greedy continuation. Run: python3 make_golden.py (numpy only).
The outputs are committed; the tests never run Python."""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def to_bf16(a):
    u = np.ascontiguousarray(a, dtype='<f4').view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype('<u2')


def from_bf16(h):
    return (h.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors, dtype):
    header, blobs, off = {'__metadata__': {'format': 'pt'}}, [], 0
    # reverse order on purpose: the reader must not depend on our writer's sorted layout
    for name in sorted(tensors, reverse=True):
        a = tensors[name]
        raw = np.ascontiguousarray(a, dtype='<f4').tobytes() if dtype == 'F32' else to_bf16(a).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def make_weights(cfg, rng):
    C, V, I = cfg['hidden_size'], cfg['vocab_size'], cfg['intermediate_size']
    H, KV = cfg['num_attention_heads'], cfg['num_key_value_heads']
    D = cfg.get('head_dim') or C // H
    bias = cfg['model_type'] == 'qwen2'
    w = {'model.embed_tokens.weight': rng.normal(0, 0.5, (V, C)), 'model.norm.weight': 1 + 0.1 * rng.normal(size=C)}
    for l in range(cfg['num_hidden_layers']):
        p = f'model.layers.{l}.'
        w[p + 'input_layernorm.weight'] = 1 + 0.1 * rng.normal(size=C)
        w[p + 'post_attention_layernorm.weight'] = 1 + 0.1 * rng.normal(size=C)
        for name, shape in [('q', (H * D, C)), ('k', (KV * D, C)), ('v', (KV * D, C))]:
            w[p + f'self_attn.{name}_proj.weight'] = rng.normal(0, 0.3, shape)
            if bias:
                w[p + f'self_attn.{name}_proj.bias'] = rng.normal(0, 0.3, shape[0])
        w[p + 'self_attn.o_proj.weight'] = rng.normal(0, 0.3, (C, H * D))
        if cfg['model_type'] == 'qwen3':
            w[p + 'self_attn.q_norm.weight'] = 1 + 0.3 * rng.normal(size=D)
            w[p + 'self_attn.k_norm.weight'] = 1 + 0.3 * rng.normal(size=D)
        w[p + 'mlp.gate_proj.weight'] = rng.normal(0, 0.3, (I, C))
        w[p + 'mlp.up_proj.weight'] = rng.normal(0, 0.3, (I, C))
        w[p + 'mlp.down_proj.weight'] = rng.normal(0, 0.3, (C, I))
    if not cfg['tie_word_embeddings']:
        w['lm_head.weight'] = rng.normal(0, 0.5, (V, C))
    return {k: v.astype(np.float32) for k, v in w.items()}


def rms(x, w, eps):
    return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))


def forward(cfg, W, tokens):
    T, C = len(tokens), cfg['hidden_size']
    H, KV = cfg['num_attention_heads'], cfg['num_key_value_heads']
    D = cfg.get('head_dim') or C // H
    eps = cfg['rms_norm_eps']
    inv = (1.0 / (cfg['rope_theta'] ** (np.arange(0, D, 2, dtype=np.float32) / D))).astype(np.float32)
    freqs = np.outer(np.arange(T, dtype=np.float32), inv).astype(np.float32).astype(np.float64)
    emb = np.concatenate([freqs, freqs], -1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]

    def rot(x):
        return np.concatenate([-x[..., D // 2:], x[..., :D // 2]], -1)

    g = lambda n: W[n].astype(np.float64)
    x = g('model.embed_tokens.weight')[tokens]
    for l in range(cfg['num_hidden_layers']):
        p = f'model.layers.{l}.'
        h = rms(x, g(p + 'input_layernorm.weight'), eps)
        proj = lambda n: h @ g(p + f'self_attn.{n}_proj.weight').T + (g(p + f'self_attn.{n}_proj.bias') if p + f'self_attn.{n}_proj.bias' in W else 0)
        q = proj('q').reshape(T, H, D)
        k = proj('k').reshape(T, KV, D)
        v = proj('v').reshape(T, KV, D)
        if cfg['model_type'] == 'qwen3':  # Qwen3Attention: q_norm / k_norm over head_dim, then RoPE
            q = rms(q, g(p + 'self_attn.q_norm.weight'), eps)
            k = rms(k, g(p + 'self_attn.k_norm.weight'), eps)
        q = q * cos + rot(q) * sin
        k = k * cos + rot(k) * sin
        k = np.repeat(k, H // KV, axis=1)
        v = np.repeat(v, H // KV, axis=1)
        s = np.einsum('thd,shd->hts', q, k) / np.sqrt(D)
        s = np.where(np.tril(np.ones((T, T), bool))[None], s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = np.einsum('hts,shd->thd', s, v).reshape(T, H * D)
        x = x + o @ g(p + 'self_attn.o_proj.weight').T
        h = rms(x, g(p + 'post_attention_layernorm.weight'), eps)
        a = h @ g(p + 'mlp.gate_proj.weight').T
        m = (a / (1 + np.exp(-a))) * (h @ g(p + 'mlp.up_proj.weight').T)
        x = x + m @ g(p + 'mlp.down_proj.weight').T
    x = rms(x, g('model.norm.weight'), eps)
    head = g('model.embed_tokens.weight') if cfg['tie_word_embeddings'] else g('lm_head.weight')
    logits = x @ head.T
    mx = logits.max(-1, keepdims=True)
    return logits - mx - np.log(np.exp(logits - mx).sum(-1, keepdims=True))


CASES = {
    'llama-gqa-f32': ({
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'vocab_size': 48, 'hidden_size': 32,
        'intermediate_size': 40, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2,
        'max_position_embeddings': 128, 'rope_theta': 10000.0, 'rms_norm_eps': 1e-5, 'tie_word_embeddings': True,
        'attention_bias': False, 'rope_scaling': None, 'hidden_act': 'silu', 'bos_token_id': 1, 'eos_token_id': 2,
        'torch_dtype': 'float32',
    }, 'F32'),
    'qwen2-bias-untied-bf16': ({
        'architectures': ['Qwen2ForCausalLM'], 'model_type': 'qwen2', 'vocab_size': 40, 'hidden_size': 24,
        'intermediate_size': 56, 'num_hidden_layers': 3, 'num_attention_heads': 6, 'num_key_value_heads': 2,
        'max_position_embeddings': 256, 'rope_theta': 1000000.0, 'rms_norm_eps': 1e-6, 'tie_word_embeddings': False,
        'hidden_act': 'silu', 'use_sliding_window': False, 'sliding_window': 256, 'bos_token_id': 3, 'eos_token_id': 4,
        'torch_dtype': 'bfloat16',
    }, 'BF16'),
    # head_dim 8 with hidden 24 and 4 heads: H * D = 32 != hidden, as in Qwen3-0.6B (16 x 128 vs 1024)
    'qwen3-qknorm-headdim-f32': ({
        'architectures': ['Qwen3ForCausalLM'], 'model_type': 'qwen3', 'vocab_size': 44, 'hidden_size': 24,
        'intermediate_size': 48, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2,
        'head_dim': 8, 'max_position_embeddings': 256, 'rope_theta': 1000000.0, 'rms_norm_eps': 1e-6,
        'tie_word_embeddings': True, 'attention_bias': False, 'hidden_act': 'silu', 'use_sliding_window': False,
        'sliding_window': None, 'rope_scaling': None, 'bos_token_id': 5, 'eos_token_id': 6, 'torch_dtype': 'float32',
    }, 'F32'),
}

if __name__ == '__main__':
    for i, (name, (cfg, dtype)) in enumerate(CASES.items()):
        rng = np.random.default_rng(1234 + i)
        W = make_weights(cfg, rng)
        if dtype == 'BF16':
            W = {k: from_bf16(to_bf16(v)) for k, v in W.items()}  # the model is what the file holds
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, 'config.json'), 'w') as f:
            json.dump(cfg, f, indent=2)
        write_safetensors(os.path.join(out, 'model.safetensors'), W, dtype)
        V = cfg['vocab_size']
        seqs = [[int(t) for t in rng.integers(0, V, n)] for n in (12, 7)]
        logprobs = []
        for s in seqs:
            lp = forward(cfg, W, s)
            logprobs.append([float(lp[t - 1, s[t]]) for t in range(1, len(s))])
        prompt = seqs[1][:4]
        greedy = list(prompt)
        for _ in range(8):
            greedy.append(int(forward(cfg, W, greedy)[-1].argmax()))
        with open(os.path.join(out, 'expected.json'), 'w') as f:
            json.dump({'sequences': seqs, 'logprobs': logprobs, 'prompt': prompt, 'greedy': greedy[len(prompt):]}, f, indent=1)
        print(name, 'written')
