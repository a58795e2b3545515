// Adam and RAdam transcribed from PyTorch's single-tensor reference loops (float64, weight decay as L2).

export interface MomentState {
  m: Float64Array;
  v: Float64Array;
}

export function adamStep(
  param: Float64Array,
  grad: Float64Array,
  state: MomentState,
  t: number,
  { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 }: OptimizerHyper,
): void {
  for (let i = 0; i < param.length; i++) {
    const g = grad[i] + weightDecay * param[i];
    state.m[i] = beta1 * state.m[i] + (1 - beta1) * g;
    state.v[i] = beta2 * state.v[i] + (1 - beta2) * g * g;
    const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t;
    const denom = Math.sqrt(state.v[i]) / Math.sqrt(bc2) + eps;
    param[i] -= (lr / bc1) * state.m[i] / denom;
  }
}

export function radamStep(
  param: Float64Array,
  grad: Float64Array,
  state: MomentState,
  t: number,
  { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 }: OptimizerHyper,
): void {
  const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t;
  const rhoInf = 2 / (1 - beta2) - 1;
  const rhoT = rhoInf - 2 * t * beta2 ** t / bc2;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i] + weightDecay * param[i];
    state.m[i] = beta1 * state.m[i] + (1 - beta1) * g;
    state.v[i] = beta2 * state.v[i] + (1 - beta2) * g * g;
    const mHat = state.m[i] / bc1;
    if (rhoT > 5) {
      const rect = Math.sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
      const adaptiveLr = Math.sqrt(bc2) / (Math.sqrt(state.v[i]) + eps);
      param[i] -= mHat * lr * adaptiveLr * rect;
    } else {
      param[i] -= mHat * lr;
    }
  }
}

export interface OptimizerHyper {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}
