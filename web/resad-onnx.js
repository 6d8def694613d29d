/*
 * ResAD in the browser: an ONNX file written by `resad export`, run by
 * onnxruntime-web (the global `ort` of ort.min.js). No build step: a plain
 * script that defines `window.resadOnnx`, used by index.html and by the
 * headless-Chromium test (test/web/onnx-web.test.ts).
 *
 *   const runner = await resadOnnx.createRunner(ort, modelBytes);
 *   const pool = await runner.pool([refImage1, refImage2]);   // Float32Array S*S*3 each, RGB in [0,1]
 *   const { map, score } = await runner.score(queryImage, pool);
 */
(function () {
  'use strict';

  // Minimal protobuf reading: the `metadata_props` (field 14) of ModelProto,
  // where resad stores its JSON description; everything else is skipped.
  function readVarint(bytes, pos) {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++];
      value += (b & 0x7f) * Math.pow(2, shift);
      if (b < 0x80) return [value, pos];
      shift += 7;
    }
  }

  function fields(bytes, start, end, onField) {
    let pos = start;
    while (pos < end) {
      let key;
      [key, pos] = readVarint(bytes, pos);
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) [, pos] = readVarint(bytes, pos);
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        let len;
        [len, pos] = readVarint(bytes, pos);
        onField(field, pos, pos + len);
        pos += len;
      } else throw new Error('resadOnnx: unsupported protobuf wire type ' + wire);
    }
  }

  function metadata(bytes) {
    const out = {};
    const text = new TextDecoder();
    fields(bytes, 0, bytes.length, (field, s, e) => {
      if (field !== 14) return;
      let key = '';
      let value = '';
      fields(bytes, s, e, (f, a, b) => {
        if (f === 1) key = text.decode(bytes.subarray(a, b));
        if (f === 2) value = text.decode(bytes.subarray(a, b));
      });
      out[key] = value;
    });
    return out;
  }

  async function createRunner(ort, modelBytes) {
    const bytes = modelBytes instanceof Uint8Array ? modelBytes : new Uint8Array(modelBytes);
    const meta = metadata(bytes);
    if (!meta.resad) throw new Error('this ONNX file has no resad metadata: export it with `resad export`');
    const info = JSON.parse(meta.resad);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const size = info.imageSize;
    const imageTensor = (image) => {
      if (image.length !== size * size * 3) throw new Error('images must be ' + size + 'x' + size + 'x3 floats');
      return new ort.Tensor('float32', image, [1, size, size, 3]);
    };
    const dummy = {};
    info.levels.forEach((lv, l) => (dummy['pool' + l] = new ort.Tensor('float32', new Float32Array(lv.channels), [1, lv.channels])));
    return {
      info,
      async pool(references) {
        const parts = info.levels.map(() => []);
        for (const ref of references) {
          const out = await session.run({ images: imageTensor(ref), ...dummy });
          info.levels.forEach((_, l) => parts[l].push(out['features' + l].data));
        }
        return info.levels.map((lv, l) => {
          const total = parts[l].reduce((n, p) => n + p.length, 0);
          const data = new Float32Array(total);
          let offset = 0;
          for (const p of parts[l]) {
            data.set(p, offset);
            offset += p.length;
          }
          return new ort.Tensor('float32', data, [total / lv.channels, lv.channels]);
        });
      },
      async score(image, pool) {
        const feeds = { images: imageTensor(image) };
        pool.forEach((t, l) => (feeds['pool' + l] = t));
        const out = await session.run(feeds);
        return { map: out.anomaly_map.data, score: out.image_score.data[0], size };
      },
    };
  }

  /** Resize (shorter side to S) + centre crop of an <img>/<canvas>, RGB in [0,1]. The browser's resampling, not resad's bicubic. */
  function imageToInput(source, size) {
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    const ctx = canvas.getContext('2d');
    const w = source.naturalWidth || source.width;
    const h = source.naturalHeight || source.height;
    const scale = size / Math.min(w, h);
    ctx.drawImage(source, (size - w * scale) / 2, (size - h * scale) / 2, w * scale, h * scale);
    const rgba = ctx.getImageData(0, 0, size, size).data;
    const out = new Float32Array(size * size * 3);
    for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = rgba[i * 4 + c] / 255;
    return out;
  }

  window.resadOnnx = { createRunner, metadata, imageToInput };
})();
