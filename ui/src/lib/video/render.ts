// Drawing I420 pictures on a canvas: WebGL2 (the conversion to RGB runs on the GPU), or a 2D
// canvas with the conversion in JS where WebGL2 is missing. Runs on the page's thread:
// WebKitGTK 2.50 has OffscreenCanvas only for 2D, so a worker cannot draw with WebGL there.
import type { Picture } from "./protocol";

export type Draw = (p: Picture) => void;

const VERTEX = `#version 300 es
in vec2 pos;
out vec2 uv;
void main() {
  uv = vec2((pos.x + 1.0) / 2.0, (1.0 - pos.y) / 2.0);
  gl_Position = vec4(pos, 0.0, 1.0);
}`;

// BT.601 video range, as the engine's encoder and decoder use.
const FRAGMENT = `#version 300 es
precision mediump float;
in vec2 uv;
uniform sampler2D ty, tu, tv;
out vec4 color;
void main() {
  float y = (texture(ty, uv).r - 0.0625) * 1.1644;
  float u = texture(tu, uv).r - 0.5;
  float v = texture(tv, uv).r - 0.5;
  color = vec4(y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u, 1.0);
}`;

export function webgl(canvas: HTMLCanvasElement): Draw | null {
  const gl = canvas.getContext("webgl2", { antialias: false, preserveDrawingBuffer: true });
  if (!gl) return null;
  const shader = (type: number, src: string) => {
    const s = gl.createShader(type)!;
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s) ?? "shader");
    return s;
  };
  const prog = gl.createProgram()!;
  gl.attachShader(prog, shader(gl.VERTEX_SHADER, VERTEX));
  gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, FRAGMENT));
  gl.linkProgram(prog);
  gl.useProgram(prog);
  const buf = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, buf);
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
  const loc = gl.getAttribLocation(prog, "pos");
  gl.enableVertexAttribArray(loc);
  gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  const textures = ["ty", "tu", "tv"].map((name, i) => {
    const t = gl.createTexture()!;
    gl.activeTexture(gl.TEXTURE0 + i);
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    gl.uniform1i(gl.getUniformLocation(prog, name), i);
    return t;
  });
  return (p) => {
    if (canvas.width !== p.width || canvas.height !== p.height) {
      canvas.width = p.width;
      canvas.height = p.height;
    }
    gl.viewport(0, 0, p.width, p.height);
    const planes: [Uint8Array, number, number][] = [
      [p.y, p.width, p.height],
      [p.u, p.width / 2, p.height / 2],
      [p.v, p.width / 2, p.height / 2],
    ];
    planes.forEach(([data, w, h], i) => {
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, textures[i] ?? null);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8, w, h, 0, gl.RED, gl.UNSIGNED_BYTE, data);
    });
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  };
}

export function canvas2d(canvas: HTMLCanvasElement): Draw | null {
  const ctx = canvas.getContext("2d");
  if (!ctx) return null;
  let img: ImageData | null = null;
  return (p) => {
    if (!img || img.width !== p.width || img.height !== p.height) {
      canvas.width = p.width;
      canvas.height = p.height;
      img = ctx.createImageData(p.width, p.height);
    }
    const out = img.data;
    const cw = p.width / 2;
    for (let row = 0; row < p.height; row++) {
      for (let col = 0; col < p.width; col++) {
        const c = (row >> 1) * cw + (col >> 1);
        const y = ((p.y[row * p.width + col] ?? 16) - 16) * 1.1644;
        const u = (p.u[c] ?? 128) - 128;
        const v = (p.v[c] ?? 128) - 128;
        const o = (row * p.width + col) * 4;
        out[o] = y + 1.596 * v;
        out[o + 1] = y - 0.392 * u - 0.813 * v;
        out[o + 2] = y + 2.017 * u;
        out[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  };
}
