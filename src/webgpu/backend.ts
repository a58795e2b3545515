/**
 * The WebGPU backend: the WGSL kernels of shaders/ on one GPU device. Launches are recorded into one command
 * encoder (one compute pass) and sent by `submit()` as a single command buffer; reads copy into reusable
 * staging buffers and map them asynchronously. Every compute pipeline is compiled once, at `create()`.
 * @module
 */
import type { Backend, BackendReport, DeviceBuffer, Elements } from "../backend.ts";
import { BackendFailureError, ReinmaxInputError } from "../errors.ts";
import { SHADERS } from "../gen/shaders.ts";
import { checkLaunch, type KernelName, KERNELS, type KernelSignature } from "../kernels.ts";
import { type Launch, LAUNCHES, namedParams, workgroupGrid } from "./dispatch.ts";
import { assembleKernelSources, type KernelSource } from "./shaders.ts";

/** Options of {@link WebGpuBackend.create}. */
export interface WebGpuBackendOptions {
  /** Passed to `navigator.gpu.requestAdapter`. Default "high-performance". */
  readonly powerPreference?: GPUPowerPreference;
  /**
   * Whether a fallback adapter (a software rasteriser such as llvmpipe or SwiftShader) is acceptable. Such an
   * adapter runs the kernels on the CPU far slower than the wasm backend, so `auto` selection declines it
   * (and reports why); naming "webgpu" explicitly accepts it. Default true.
   */
  readonly acceptFallbackAdapter?: boolean;
  /**
   * Internal, for tests: WGSL sources by file name (without `.wgsl`) that replace the built-in shaders.
   * @internal
   */
  readonly shaders?: Readonly<Record<string, string>>;
}

let nextBufferId = 0;

class WebGpuBuffer implements DeviceBuffer {
  /** Identifies the buffer in bind-group cache keys. */
  readonly id = nextBufferId++;
  constructor(readonly gpu: GPUBuffer, readonly length: number, readonly label: string) {}
}

/** A uniform block: a slice of one of the arena's chunks, bound with a dynamic offset. */
interface UniformBlock {
  readonly chunk: number;
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

interface CompiledKernel {
  readonly signature: KernelSignature;
  readonly launch: Launch;
  readonly layout: GPUBindGroupLayout;
  readonly pipeline: GPUComputePipeline;
}

const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The limits the kernels need beyond the WebGPU defaults, with the value each needs. */
function requiredKernelLimits(): Record<string, number> {
  const storageBuffers = Math.max(...Object.values(KERNELS).map((k) => k.buffers.length));
  return {
    maxStorageBuffersPerShaderStage: storageBuffers,
    maxUniformBuffersPerShaderStage: 1,
    maxBindingsPerBindGroup: storageBuffers + 1,
    // The reductions run in one workgroup of 256 threads (REDUCE_SIZE in shaders/reduce.wgsl).
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupSizeX: 256,
  };
}

/** Whether the adapter is a fallback adapter (GPUAdapterInfo.isFallbackAdapter, or the older attribute). */
function isFallbackAdapter(adapter: GPUAdapter): boolean {
  const info = (adapter.info ?? {}) as { isFallbackAdapter?: boolean };
  return info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
}

function describeAdapter(adapter: GPUAdapter): string {
  const info: Partial<GPUAdapterInfo> = adapter.info ?? {};
  const parts = [
    `vendor ${info.vendor || "unknown"}`,
    `architecture ${info.architecture || "unknown"}`,
    isFallbackAdapter(adapter)
      ? "fallback adapter (software or reduced capability)"
      : "not a fallback adapter",
  ];
  return `WebGPU on ${info.description || info.device || "an unnamed adapter"} (${parts.join(", ")})`;
}

/**
 * Per-launch uniform blocks, carved from 64 KiB uniform buffers at `minUniformBufferOffsetAlignment`. The
 * blocks of one command buffer are staged on the CPU and uploaded by one writeBuffer per chunk just before
 * the submit; the queue orders that write after earlier submits, so chunks are reused by the next batch.
 */
class UniformArena {
  static readonly CHUNK_BYTES = 65536;
  readonly #device: GPUDevice;
  readonly #alignment: number;
  readonly #chunks: { buffer: GPUBuffer; staged: ArrayBuffer }[] = [];
  #chunk = 0;
  #offset = 0;

  constructor(device: GPUDevice, alignment: number) {
    this.#device = device;
    this.#alignment = alignment;
  }

  /** A block holding `values` typed as `types`. */
  push(types: readonly ("f32" | "u32")[], values: readonly number[]): UniformBlock {
    const size = Math.max(16, Math.ceil((types.length * 4) / 16) * 16);
    if (this.#offset + size > UniformArena.CHUNK_BYTES) {
      this.#chunk++;
      this.#offset = 0;
    }
    if (this.#chunk === this.#chunks.length) {
      this.#chunks.push({
        buffer: this.#device.createBuffer({
          label: `reinmax uniforms ${this.#chunk}`,
          size: UniformArena.CHUNK_BYTES,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
        staged: new ArrayBuffer(UniformArena.CHUNK_BYTES),
      });
    }
    const { buffer, staged } = this.#chunks[this.#chunk];
    const u32 = new Uint32Array(staged, this.#offset, types.length);
    const f32 = new Float32Array(staged, this.#offset, types.length);
    types.forEach((type, i) => type === "u32" ? u32[i] = values[i] : f32[i] = values[i]);
    const block = { chunk: this.#chunk, buffer, offset: this.#offset, size };
    this.#offset = Math.ceil((this.#offset + size) / this.#alignment) * this.#alignment;
    return block;
  }

  /** Queues the blocks pushed since the last upload; call right before submitting the launches that use them. */
  upload(queue: GPUQueue): void {
    for (let i = 0; i <= this.#chunk && i < this.#chunks.length; i++) {
      const used = i < this.#chunk ? UniformArena.CHUNK_BYTES : this.#offset;
      if (used > 0) queue.writeBuffer(this.#chunks[i].buffer, 0, this.#chunks[i].staged, 0, used);
    }
    this.#chunk = 0;
    this.#offset = 0;
  }

  destroy(): void {
    for (const chunk of this.#chunks) chunk.buffer.destroy();
    this.#chunks.length = 0;
  }
}

/** Reusable MAP_READ staging buffers: a read takes the smallest free one that fits and returns it after unmap. */
class StagingPool {
  static readonly KEEP = 8;
  readonly #device: GPUDevice;
  readonly #free: GPUBuffer[] = [];

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  take(bytes: number): GPUBuffer {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      if (this.#free[i].size >= bytes && (best < 0 || this.#free[i].size < this.#free[best].size)) best = i;
    }
    if (best >= 0) return this.#free.splice(best, 1)[0];
    // Powers of two (at least 4 KiB) so buffers of similar sizes share staging.
    const size = Math.max(4096, 2 ** Math.ceil(Math.log2(bytes)));
    return this.#device.createBuffer({
      label: "reinmax staging",
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  give(buffer: GPUBuffer): void {
    if (this.#free.length < StagingPool.KEEP) this.#free.push(buffer);
    else buffer.destroy();
  }

  destroy(): void {
    for (const buffer of this.#free) buffer.destroy();
    this.#free.length = 0;
  }
}

/** The WebGPU backend. Obtain one with `selectBackend({ prefer: "webgpu" })` or {@link WebGpuBackend.create}. */
export class WebGpuBackend implements Backend {
  readonly name = "webgpu" as const;
  readonly details: string;
  report: BackendReport;
  readonly #device: GPUDevice;
  readonly #kernels: ReadonlyMap<KernelName, CompiledKernel>;
  readonly #maxWorkgroupsPerDimension: number;
  readonly #maxBindingBytes: number;
  readonly #uniforms: UniformArena;
  readonly #staging: StagingPool;
  readonly #live = new Set<WebGpuBuffer>();
  /**
   * Bind groups by kernel, buffers and uniform chunk: a training step launches the same kernels on the
   * same buffers every time, so after the first step no launch creates a GPU object. The uniform block is
   * bound with a dynamic offset, which is why the chunk, not the block, is part of the key.
   */
  readonly #bindGroups = new Map<string, GPUBindGroup>();
  /** The cache keys that mention each buffer, dropped when the buffer is freed. */
  readonly #bindGroupKeys = new Map<number, string[]>();
  #bytesAllocated = 0;
  #bytesReleasing = 0;
  /** The command buffer being recorded, its one compute pass, and the buffers its launches bind. */
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  readonly #recorded = new Set<WebGpuBuffer>();
  /** Why the device was lost, once it is. */
  #lost: string | null = null;
  #destroyed = false;
  /** Validation errors the device reported outside an error scope, surfaced by the next read. */
  readonly #uncaptured: string[] = [];

  private constructor(device: GPUDevice, details: string, kernels: ReadonlyMap<KernelName, CompiledKernel>) {
    this.#device = device;
    this.details = details;
    this.#kernels = kernels;
    this.#maxWorkgroupsPerDimension = device.limits.maxComputeWorkgroupsPerDimension;
    this.#maxBindingBytes = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.#uniforms = new UniformArena(device, device.limits.minUniformBufferOffsetAlignment);
    this.#staging = new StagingPool(device);
    this.report = { chosen: "webgpu", reason: "created directly", details, rejected: [] };
    device.lost.then((info) => {
      if (!this.#destroyed) this.#lost = `${info.reason}${info.message ? `: ${info.message}` : ""}`;
    });
    device.addEventListener("uncapturederror", (event) => {
      this.#uncaptured.push((event as GPUUncapturedErrorEvent).error.message);
    });
  }

  /**
   * Requests an adapter and a device and compiles every kernel's pipeline. Throws an Error saying why when
   * WebGPU cannot be used here (no API, no adapter, refused device, too-small limits, a shader that does not
   * compile).
   */
  static async create(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
    if (!gpu) throw new Error("navigator.gpu is not available in this runtime");
    let adapter: GPUAdapter | null;
    try {
      adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? "high-performance" });
    } catch (e) {
      throw new Error(`the adapter request failed: ${message(e)}`);
    }
    if (!adapter) throw new Error("no WebGPU adapter was found");
    if (isFallbackAdapter(adapter) && options.acceptFallbackAdapter === false) {
      const info: Partial<GPUAdapterInfo> = adapter.info ?? {};
      const name = info.description || [info.vendor, info.architecture].filter((x) => x).join(" ") ||
        "unnamed";
      throw new Error(
        `the adapter (${name}) is a software fallback adapter, slower than WebAssembly; ` +
          `request "webgpu" explicitly to use it`,
      );
    }

    const sources = assembleKernelSources(options.shaders ?? SHADERS);
    const requiredLimits: Record<string, number> = {};
    for (const [limit, needed] of Object.entries(requiredKernelLimits())) {
      const available = (adapter.limits as unknown as Record<string, number>)[limit];
      if (typeof available === "number" && available < needed) {
        throw new Error(`adapter limit ${limit} is ${available}, the kernels need ${needed}`);
      }
      requiredLimits[limit] = needed;
    }
    // Large buffers are bound whole, so ask for as much as the adapter allows.
    requiredLimits.maxStorageBufferBindingSize = adapter.limits.maxStorageBufferBindingSize;
    requiredLimits.maxBufferSize = adapter.limits.maxBufferSize;

    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({ label: "reinmax", requiredLimits });
    } catch (e) {
      throw new Error(`the device request was refused: ${message(e)}`);
    }
    try {
      const kernels = await compileKernels(device, sources);
      return new WebGpuBackend(device, describeAdapter(adapter), kernels);
    } catch (e) {
      device.destroy();
      throw e;
    }
  }

  get bytesAllocated(): number {
    return this.#bytesAllocated;
  }

  get bytesReleasing(): number {
    return this.#bytesReleasing;
  }

  async settle(): Promise<void> {
    if (this.#failure() !== null) return;
    this.#flush();
    await this.#device.queue.onSubmittedWorkDone();
    // The releases were queued before this wait, so their callbacks have run by now.
  }

  get maxBufferBytes(): number {
    return this.#maxBindingBytes;
  }

  /** A GPU does not report its free memory; an allocation it cannot serve surfaces at the next read. */
  get bytesAvailable(): number {
    return Infinity;
  }

  alloc(length: number, label: string): DeviceBuffer {
    this.#checkUsable();
    if (!Number.isInteger(length) || length < 0) {
      throw new ReinmaxInputError("length", `expected an integer >= 0 for buffer "${label}", got ${length}`);
    }
    // WebGPU needs sizes that are multiples of 4 and non-empty bindings; 16 bytes covers both.
    const size = Math.max(16, length * 4);
    if (size > this.#maxBindingBytes) {
      throw new ReinmaxInputError(
        "length",
        `buffer "${label}" of ${length} elements (${size} bytes) exceeds this device's largest storage ` +
          `binding of ${this.#maxBindingBytes} bytes`,
      );
    }
    // New GPU buffers are zero-filled by the WebGPU specification.
    const buffer = new WebGpuBuffer(
      this.#device.createBuffer({ label, size, usage: STORAGE_USAGE }),
      length,
      label,
    );
    this.#live.add(buffer);
    this.#bytesAllocated += size;
    return buffer;
  }

  free(buffer: DeviceBuffer): void {
    // After a loss (or destroy) the memory is gone anyway; freeing stays quiet so cleanup code does not mask
    // the error that reported the loss.
    const b = this.#own(buffer, { lenient: this.#failure() !== null });
    if (!this.#live.delete(b)) return;
    this.#bytesAllocated -= b.gpu.size;
    for (const key of this.#bindGroupKeys.get(b.id) ?? []) this.#bindGroups.delete(key);
    this.#bindGroupKeys.delete(b.id);
    if (this.#failure() !== null) return;
    if (this.#recorded.has(b)) this.#flush();
    // Submitted work may still use the buffer; destroying it under the queue has crashed wgpu's Vulkan
    // path, so it is released once the queue has caught up, and counted as releasing until then.
    this.#bytesReleasing += b.gpu.size;
    this.#whenQueueIdle(() => {
      b.gpu.destroy();
      this.#bytesReleasing -= b.gpu.size;
    });
  }

  write(buffer: DeviceBuffer, data: Elements, offset = 0): void {
    const b = this.#own(buffer);
    if (!Number.isInteger(offset) || offset < 0 || offset + data.length > b.length) {
      throw new ReinmaxInputError(
        "data",
        `writing ${data.length} elements at ${offset} overflows buffer "${b.label}" of ${b.length}`,
      );
    }
    if (data.length === 0) return;
    // Launches already recorded that bind this buffer must see the old contents.
    if (this.#recorded.has(b)) this.#flush();
    // writeBuffer takes no SharedArrayBuffer; a copy of a shared array's elements is what it would write.
    const bytes = data.buffer instanceof ArrayBuffer
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data.slice().buffer);
    this.#device.queue.writeBuffer(b.gpu, offset * 4, bytes);
  }

  run(kernel: KernelName, buffers: readonly DeviceBuffer[], params: readonly number[]): void {
    this.#checkUsable();
    const signature = checkLaunch(kernel, buffers, params);
    const compiled = this.#kernels.get(kernel);
    if (!compiled) {
      throw new BackendFailureError("webgpu", `kernel ${kernel} has no WGSL implementation in shaders/`);
    }
    const owned = buffers.map((b) => this.#own(b));
    // WebGPU forbids binding one buffer twice in a dispatch when either binding is writable.
    for (let i = 0; i < owned.length; i++) {
      for (let j = i + 1; j < owned.length; j++) {
        if (owned[i] === owned[j] && (signature.buffers[i].written || signature.buffers[j].written)) {
          throw new ReinmaxInputError(
            "buffers",
            `${kernel}: "${owned[i].label}" is passed as both ${signature.buffers[i].name} and ` +
              `${signature.buffers[j].name}; WebGPU cannot bind a written buffer twice`,
          );
        }
      }
    }
    const named = namedParams(kernel, params);
    const grid = workgroupGrid(compiled.launch, named, this.#maxWorkgroupsPerDimension);
    if (!grid) {
      throw new ReinmaxInputError(
        "params",
        `${kernel}: the launch is larger than a WebGPU dispatch can hold`,
      );
    }
    if (grid[0] === 0) return;

    const uniform = signature.params.length > 0
      ? this.#uniforms.push(signature.params.map((p) => p.type), params)
      : null;
    const bindGroup = this.#bindGroup(kernel, compiled.layout, owned, uniform);
    if (!this.#encoder || !this.#pass) {
      this.#encoder = this.#device.createCommandEncoder({ label: "reinmax launches" });
      this.#pass = this.#encoder.beginComputePass({ label: "reinmax launches" });
    }
    // Dispatches of one compute pass see each other's writes, so one pass holds the whole batch.
    this.#pass.setPipeline(compiled.pipeline);
    this.#pass.setBindGroup(0, bindGroup, uniform ? [uniform.offset] : []);
    this.#pass.dispatchWorkgroups(grid[0], grid[1]);
    for (const b of owned) this.#recorded.add(b);
  }

  submit(): void {
    this.#checkUsable();
    this.#flush();
  }

  async read(buffer: DeviceBuffer): Promise<ArrayBuffer> {
    const b = this.#own(buffer);
    this.#flush();
    const bytes = b.length * 4;
    if (bytes === 0) return new ArrayBuffer(0);
    const staging = this.#staging.take(bytes);
    const encoder = this.#device.createCommandEncoder({ label: `read ${b.label}` });
    encoder.copyBufferToBuffer(b.gpu, 0, staging, 0, bytes);
    this.#device.queue.submit([encoder.finish()]);
    let copy: ArrayBuffer;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      copy = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
    } catch (e) {
      // The device can go away between the map and the copy; either way the read failed.
      staging.destroy();
      // The loss is reported on its own promise, which may settle just after the failed map.
      await Promise.race([this.#device.lost, new Promise((resolve) => setTimeout(resolve, 50))]);
      this.#checkUsable();
      throw new BackendFailureError("webgpu", `reading buffer "${b.label}" failed: ${message(e)}`);
    }
    this.#staging.give(staging);
    if (this.#uncaptured.length > 0) {
      const errors = this.#uncaptured.splice(0);
      throw new BackendFailureError(
        "webgpu",
        `the device reported ${errors.length} error(s) before reading "${b.label}": ${errors.join("; ")}`,
      );
    }
    return copy;
  }

  destroy(): void {
    if (this.#destroyed) return;
    const lost = this.#lost !== null;
    this.#destroyed = true;
    this.#encoder = this.#pass = null;
    this.#recorded.clear();
    const buffers = [...this.#live].map((b) => b.gpu);
    this.#live.clear();
    this.#bindGroups.clear();
    this.#bindGroupKeys.clear();
    const held = this.#bytesAllocated;
    this.#bytesAllocated = 0;
    this.#bytesReleasing += held;
    const release = () => {
      for (const b of buffers) b.destroy();
      this.#uniforms.destroy();
      this.#staging.destroy();
      this.#device.destroy();
      this.#bytesReleasing -= held;
    };
    // As in free(): release only once submitted work is done (a lost device has none left to do).
    if (lost) release();
    else this.#whenQueueIdle(release);
  }

  /**
   * For tests: destroys the GPU device behind the backend's back, as a driver reset would, and resolves once
   * the loss has been reported.
   * @internal
   */
  async simulateDeviceLoss(): Promise<void> {
    await this.#device.queue.onSubmittedWorkDone();
    this.#device.destroy();
    await this.#device.lost;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  /** The cached bind group of a launch, created on first use. */
  #bindGroup(
    kernel: KernelName,
    layout: GPUBindGroupLayout,
    buffers: readonly WebGpuBuffer[],
    uniform: UniformBlock | null,
  ): GPUBindGroup {
    const key = `${kernel}|${buffers.map((b) => b.id).join(",")}|${
      uniform ? `${uniform.chunk}:${uniform.size}` : ""
    }`;
    let group = this.#bindGroups.get(key);
    if (group) return group;
    const entries: GPUBindGroupEntry[] = buffers.map((b, binding) => ({
      binding,
      resource: { buffer: b.gpu },
    }));
    if (uniform) {
      entries.push({
        binding: buffers.length,
        resource: { buffer: uniform.buffer, offset: 0, size: uniform.size },
      });
    }
    group = this.#device.createBindGroup({ label: kernel, layout, entries });
    this.#bindGroups.set(key, group);
    for (const b of buffers) {
      const keys = this.#bindGroupKeys.get(b.id);
      if (keys) keys.push(key);
      else this.#bindGroupKeys.set(b.id, [key]);
    }
    return group;
  }

  /** Runs `release` once the queue has finished the work submitted so far (at once if that fails). */
  #whenQueueIdle(release: () => void): void {
    this.#device.queue.onSubmittedWorkDone().then(release, release);
  }

  /** Ends the compute pass and submits the recorded launches, with their uniforms, as one command buffer. */
  #flush(): void {
    if (!this.#encoder || !this.#pass) return;
    this.#pass.end();
    this.#uniforms.upload(this.#device.queue);
    this.#device.queue.submit([this.#encoder.finish()]);
    this.#encoder = this.#pass = null;
    this.#recorded.clear();
  }

  #failure(): string | null {
    if (this.#destroyed) return "the backend was destroyed";
    if (this.#lost !== null) return `the GPU device was lost (${this.#lost})`;
    return null;
  }

  #checkUsable(): void {
    const failure = this.#failure();
    if (failure !== null) throw new BackendFailureError("webgpu", failure);
  }

  #own(buffer: DeviceBuffer, { lenient = false } = {}): WebGpuBuffer {
    if (!lenient) this.#checkUsable();
    if (!(buffer instanceof WebGpuBuffer) || (!this.#live.has(buffer) && !lenient)) {
      throw new ReinmaxInputError(
        "buffer",
        `"${buffer?.label}" is not a live buffer of this webgpu backend (freed, or from another backend)`,
      );
    }
    return buffer;
  }
}

/** An explicit bind group layout from the kernel's signature: storage buffers in order, then the uniform. */
function bindGroupLayout(device: GPUDevice, kernel: string, signature: KernelSignature): GPUBindGroupLayout {
  const entries: GPUBindGroupLayoutEntry[] = signature.buffers.map((b, binding) => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type: b.written ? "storage" : "read-only-storage" },
  }));
  if (signature.params.length > 0) {
    entries.push({
      binding: signature.buffers.length,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: "uniform", hasDynamicOffset: true },
    });
  }
  return device.createBindGroupLayout({ label: kernel, entries });
}

/** Compiles the pipeline of every kernel that has both a signature and WGSL; errors name the kernel. */
async function compileKernels(
  device: GPUDevice,
  sources: ReadonlyMap<string, KernelSource>,
): Promise<Map<KernelName, CompiledKernel>> {
  const names = (Object.keys(KERNELS) as KernelName[]).filter((k) => sources.has(k) && LAUNCHES[k]);
  return new Map(
    await Promise.all(names.map(async (kernel): Promise<[KernelName, CompiledKernel]> => {
      const source = sources.get(kernel)!;
      const where = `WGSL kernel ${kernel} (shaders/${source.file}.wgsl)`;
      const signature = KERNELS[kernel];
      const module = device.createShaderModule({ label: kernel, code: source.code });
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === "error");
      if (errors.length > 0) {
        throw new Error(`${where} does not compile: ${errors.map((m) => m.message.trim()).join("\n")}`);
      }
      const layout = bindGroupLayout(device, kernel, signature);
      let pipeline: GPUComputePipeline;
      try {
        pipeline = await device.createComputePipelineAsync({
          label: kernel,
          layout: device.createPipelineLayout({ label: kernel, bindGroupLayouts: [layout] }),
          compute: { module, entryPoint: kernel },
        });
      } catch (e) {
        throw new Error(`${where}: the compute pipeline could not be created: ${message(e)}`);
      }
      return [kernel, { signature, launch: LAUNCHES[kernel]!, layout, pipeline }];
    })),
  );
}
