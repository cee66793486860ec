"""The segmentation models, backend-agnostic Keras 3 (``keras.ops`` only, no ``tf.*``), so they run
under TensorFlow (default) and JAX. Input shapes come from the data; nothing is hard-coded.

* ``cnn``: U-Net; encoder and decoder blocks of (Conv 3×3 – BatchNorm – ReLU) × 2, max-pool down,
  transposed-conv up, skip connections by concatenation, dropout in the bottleneck, L2 on kernels,
  1×1 softmax over 14 classes. Input (H, W, C).
* ``convlstm``: the same U-Net whose encoder blocks are ConvLSTM2D over the sequence (T, H, W, C)
  (thesis §3.5); each level's skip connection is the ConvLSTM hidden state at the last time step,
  the bottleneck a ConvLSTM2D returning only its final state; the decoder is the CNN's.
* ``tae``: a lightweight U-TAE (Garnot & Landrieu 2021) over a whole year of kept passes: a shared 2-D
  encoder applied to every date, a multi-head temporal attention with a learned master query at the
  lowest resolution, with a day-of-year (and day/night) positional encoding and a per-date validity
  mask (a missing date gets attention 0, so it changes nothing), the attention upsampled to weight
  every skip level over time, and the CNN's decoder. Input (T, H, W, C + 4): the last
  :data:`DATE_CHANNELS` planes of each date are constant: sin and cos of the day of year, 1 for a day
  pass, 1 for a date that is present (0 for padding).
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops, regularizers

from rocksoil_nb.core.classes import N_CLASSES
from rocksoil_nb.learn import registry
from rocksoil_nb.learn.inputs import DATE_CHANNELS


def depth_for(size: int, max_depth: int = 4) -> int:
    """Pooling levels for a patch of ``size`` pixels: at most ``max_depth``, leaving at least 4 px."""
    if size < 8:
        raise ValueError(f"patch size {size} is too small for a U-Net (at least 8 px)")
    return max(1, min(max_depth, int(math.log2(size)) - 2))


def _conv_block(x, filters: int, l2: float, name: str):
    for i in range(2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=regularizers.L2(l2), name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def _decoder(x, skips, base: int, l2: float, n_classes: int):
    for level in reversed(range(len(skips))):
        f = base * 2**level
        x = layers.Conv2DTranspose(f, 2, strides=2, padding="same", kernel_regularizer=regularizers.L2(l2), name=f"up{level}")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _conv_block(x, f, l2, f"dec{level}")
    return layers.Conv2D(n_classes, 1, activation="softmax", dtype="float32", name="classes")(x)


def _prelude(input_shape, depth: int | None, name: str):
    """(input tensor, depth) for an input shape ending in (H, W, C); checks H, W against the depth."""
    h, w = input_shape[-3], input_shape[-2]
    depth = depth or depth_for(min(h, w))
    _check_divisible(h, w, depth)
    return keras.Input(tuple(input_shape), name=name), depth


def build_cnn(input_shape, base_filters: int = 16, depth: int | None = None, dropout: float = 0.2, l2: float = 0.05,
              n_classes: int = N_CLASSES) -> keras.Model:
    """U-Net for patches of shape (H, W, C)."""
    inp, depth = _prelude(input_shape, depth, "patch")
    x, skips = inp, []
    for level in range(depth):
        x = _conv_block(x, base_filters * 2**level, l2, f"enc{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = _conv_block(x, base_filters * 2**depth, l2, "bottleneck")
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inp, _decoder(x, skips, base_filters, l2, n_classes), name="unet_cnn")


def build_convlstm(input_shape, base_filters: int = 16, depth: int | None = None, dropout: float = 0.2, l2: float = 0.05,
                   n_classes: int = N_CLASSES) -> keras.Model:
    """U-Net with a ConvLSTM2D encoder for sequences of shape (T, H, W, C)."""
    inp, depth = _prelude(input_shape, depth, "sequence")
    x, skips = inp, []
    for level in range(depth):
        f = base_filters * 2**level
        x = layers.ConvLSTM2D(f, 3, padding="same", return_sequences=True, kernel_regularizer=regularizers.L2(l2),
                              name=f"enc{level}_convlstm")(x)
        x = layers.BatchNormalization(name=f"enc{level}_bn")(x)
        skips.append(LastStep(name=f"enc{level}_last")(x))
        x = layers.TimeDistributed(layers.MaxPooling2D(2), name=f"pool{level}")(x)
    x = layers.ConvLSTM2D(base_filters * 2**depth, 3, padding="same", return_sequences=False,
                          kernel_regularizer=regularizers.L2(l2), name="bottleneck_convlstm")(x)
    x = layers.BatchNormalization(name="bottleneck_bn")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inp, _decoder(x, skips, base_filters, l2, n_classes), name="unet_convlstm")


@keras.saving.register_keras_serializable(package="rocksoil")
class LastStep(layers.Layer):
    """The last time step of a sequence (B, T, ...) → (B, ...): the ConvLSTM skip connection."""

    def call(self, x):
        return x[:, -1]


@keras.saving.register_keras_serializable(package="rocksoil")
class DatePlanes(layers.Layer):
    """Split a ``tae`` input (B, T, H, W, C + 4) into the bands (B, T, H, W, C) and the date code (B, T, 4)."""

    def call(self, x):
        return x[..., :-DATE_CHANNELS], ops.mean(x[..., -DATE_CHANNELS:], axis=(2, 3))


@keras.saving.register_keras_serializable(package="rocksoil")
class TemporalAttention(layers.Layer):
    """Multi-head attention over time with a learned master query per head (U-TAE's L-TAE, simplified), the
    dates' positional encoding (a learned projection of sin/cos day of year and day/night) added to the keys'
    input, and absent dates masked out. Inputs (B, T, h, w, C) and the date code (B, T, 4) → attention weights
    (B, T, h, w, heads), softmax over the present dates."""

    def __init__(self, heads: int = 4, key_dim: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.key_dim = heads, key_dim

    def build(self, input_shape):
        c = input_shape[0][-1]
        self.keys = self.add_weight(shape=(c, self.heads * self.key_dim), initializer="glorot_uniform", name="keys")
        self.query = self.add_weight(shape=(self.heads, self.key_dim), initializer="glorot_uniform", name="query")
        self.position = self.add_weight(shape=(DATE_CHANNELS - 1, c), initializer="glorot_uniform", name="position")

    def call(self, inputs):
        x, dates = inputs
        pos = ops.matmul(dates[..., : DATE_CHANNELS - 1], self.position)  # (B, T, C)
        x = x + pos[:, :, None, None, :]
        k = ops.matmul(x, self.keys)  # (B, T, h, w, heads*dk)
        shape = ops.shape(k)
        k = ops.reshape(k, (shape[0], shape[1], shape[2], shape[3], self.heads, self.key_dim))
        scores = ops.sum(k * self.query, axis=-1) / math.sqrt(self.key_dim)  # (B, T, h, w, heads)
        present = dates[..., DATE_CHANNELS - 1][:, :, None, None, None]
        scores = ops.where(present > 0.5, scores, -1e9)
        return ops.softmax(scores, axis=1) * ops.cast(present > 0.5, scores.dtype)

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "key_dim": self.key_dim}


@keras.saving.register_keras_serializable(package="rocksoil")
class AttentionPool(layers.Layer):
    """Weighted sum over time of features (B, T, H, W, C) with attention (B, T, h, w, heads) upsampled
    to (H, W): channel group g uses head g mod heads."""

    def __init__(self, heads: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.heads = heads

    def call(self, features, attention):
        fs, as_ = ops.shape(features), ops.shape(attention)
        factor_h, factor_w = fs[2] // as_[2], fs[3] // as_[3]
        a = ops.repeat(ops.repeat(attention, factor_h, axis=2), factor_w, axis=3)  # (B, T, H, W, heads)
        c = features.shape[-1]
        group = ops.arange(c) % self.heads
        a_c = ops.take(a, group, axis=-1)  # (B, T, H, W, C)
        return ops.sum(features * a_c, axis=1)

    def get_config(self):
        return {**super().get_config(), "heads": self.heads}


def build_tae(input_shape, base_filters: int = 16, depth: int | None = None, dropout: float = 0.2, l2: float = 0.05,
              n_classes: int = N_CLASSES, heads: int = 4) -> keras.Model:
    """Lightweight U-TAE for a year of dates (T, H, W, C + 4): the bands and :data:`DATE_CHANNELS` date planes."""
    if input_shape[-1] <= DATE_CHANNELS:
        raise ValueError(f"tae input {tuple(input_shape)}: needs the bands and {DATE_CHANNELS} date planes in the last axis")
    inp, depth = _prelude(input_shape, depth, "year")
    h, w = input_shape[1], input_shape[2]
    x, dates = DatePlanes(name="date_planes")(inp)
    feats = []
    for level in range(depth):
        f = base_filters * 2**level
        block_in = keras.Input((h // 2**level, w // 2**level, x.shape[-1]))
        block = keras.Model(block_in, _conv_block(block_in, f, l2, f"enc{level}"), name=f"enc{level}_shared")
        x = layers.TimeDistributed(block, name=f"enc{level}")(x)
        feats.append(x)
        x = layers.TimeDistributed(layers.MaxPooling2D(2), name=f"pool{level}")(x)
    block_in = keras.Input((h // 2**depth, w // 2**depth, x.shape[-1]))
    block = keras.Model(block_in, _conv_block(block_in, base_filters * 2**depth, l2, "bottleneck"), name="bottleneck_shared")
    x = layers.TimeDistributed(block, name="bottleneck")(x)
    att = TemporalAttention(heads, key_dim=8, name="temporal_attention")([x, dates])
    pool = AttentionPool(heads, name="attention_pool")
    bottom = pool(x, att)
    skips = [pool(f, att) for f in feats]
    bottom = layers.Dropout(dropout, name="dropout")(bottom)
    return keras.Model(inp, _decoder(bottom, skips, base_filters, l2, n_classes), name="utae")


def _check_divisible(h: int, w: int, depth: int) -> None:
    if h % 2**depth or w % 2**depth:
        raise ValueError(f"patch {h} x {w} must be divisible by 2^{depth} for a depth-{depth} U-Net")


def build(name: str, input_shape, **kw) -> keras.Model:
    """Build deep model ``name`` of the registry (:mod:`rocksoil_nb.learn.registry`) for ``input_shape`` (without the
    batch axis): (H, W, C) for models reading one date, (T, H, W, C) for those reading a series."""
    entry = registry.get(name)
    if not entry.deep:
        raise ValueError(f"model {name!r} is a per-pixel estimator, not a network; deep models: {registry.names(deep=True)}")
    expected = 3 if entry.kind == "cnn" else 4
    if len(input_shape) != expected:
        raise ValueError(f"model {name!r} takes inputs of {expected} axes ({'H, W, C' if expected == 3 else 'T, H, W, C'}), "
                         f"got {tuple(input_shape)}")
    return entry.load("build")(tuple(int(s) for s in input_shape), **kw)


def compile_for_training(net: keras.Model, learning_rate: float, loss) -> keras.Model:
    """Compile ``net`` with Adam at ``learning_rate`` and ``loss``, building the optimizer's moment variables now: under
    the TensorFlow backend Keras otherwise creates them inside the first traced training step, which TensorFlow then
    traces a second time (about 2 s per run on a laptop CPU, the whole cost of a short tuning run)."""
    net.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    net.optimizer.build(net.trainable_variables)
    return net
