/**
 * Plans a declared stack of layers in a model's memory: each declaration checked, each layer built on the
 * output of the one below it, and the likelihood on the last. Every size error names the layer at fault by
 * its index and kind, before anything is allocated.
 * @module
 */
import { ReinmaxInputError } from "../errors.ts";
import { ESTIMATORS } from "../estimators.ts";
import { Activation } from "./activations.ts";
import {
  type BernoulliLayer,
  type CategoricalLayer,
  checkLayer,
  checkLikelihood,
  isLatent,
  layerArgument,
  type LayerDeclaration,
  type LikelihoodDeclaration,
} from "./declarations.ts";
import { BernoulliLatent, CategoricalLatent } from "./latent.ts";
import type { Activation as Values, DenseActivation, LayerPlanner, PlannedLayer } from "./layer.ts";
import { Likelihood } from "./likelihoods.ts";
import { Linear } from "./linear.ts";

/** A planned stack: its layers in order, the stochastic ones among them, and its likelihood. */
export interface PlannedStack {
  readonly declarations: readonly LayerDeclaration[];
  readonly likelihoodDeclaration: LikelihoodDeclaration;
  readonly layers: readonly PlannedLayer[];
  readonly latents: readonly (CategoricalLatent | BernoulliLatent)[];
  readonly likelihood: Likelihood;
}

/** The declarations, checked, with the model's input width: errors name the layer and what it needs. */
export function checkStack(
  layers: unknown,
  likelihood: unknown,
  inputSize: number,
): { declarations: LayerDeclaration[]; likelihood: LikelihoodDeclaration } {
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new ReinmaxInputError("layers", `expected a non-empty array of layers from layers.*`);
  }
  const declarations = layers.map((layer, i) => checkLayer(i, layer));
  const checked = checkLikelihood(likelihood);
  if (!declarations.some((d) => d.kind === "linear" || isLatent(d))) {
    throw new ReinmaxInputError(
      "layers",
      "expected at least one linear or stochastic layer: nothing would be trained",
    );
  }
  // A layer's name prefixes its buffers, and its parameters' labels name them in checkpoints: two layers
  // of one name, or two parameters of one label, would share them.
  const owners = new Map<string, number>();
  const claim = (i: number, what: string, name: string) => {
    const other = owners.get(what + name);
    if (other !== undefined) {
      throw new ReinmaxInputError(
        layerArgument(i, declarations[i].kind),
        `the ${what}name "${name}" is already ${layerArgument(other, declarations[other].kind)}'s; ` +
          "every layer and parameter needs a name of its own",
      );
    }
    owners.set(what + name, i);
  };
  declarations.forEach((d, i) => {
    const name = d.name ?? `layers.${i}`;
    claim(i, "", name);
    if (d.kind === "linear") {
      claim(i, "parameter ", `${name}.weight`);
      claim(i, "parameter ", `${name}.bias`);
    } else if (isLatent(d)) {
      claim(i, "parameter ", d.parameterNames?.weight ?? `${name}.weight`);
      claim(i, "parameter ", d.parameterNames?.bias ?? `${name}.bias`);
      if (d.prior === "learned") claim(i, "parameter ", d.parameterNames?.prior ?? `${name}.prior`);
    }
  });
  // The width the likelihood scores: the input for the input's likelihoods, the classes for labels.
  let width = inputSize;
  for (const d of declarations) {
    if (d.kind === "linear") width = d.outSize;
    else if (d.kind === "categorical") width = d.latents * d.categories;
    else if (d.kind === "bernoulli") width = d.latents;
  }
  const last = declarations.length - 1;
  const wanted = checked.kind === "categorical" ? checked.classes : inputSize;
  if (width !== wanted) {
    const what = checked.kind === "categorical"
      ? `the categorical likelihood's ${wanted} classes`
      : `the ${checked.kind} likelihood of the input (inputSize ${inputSize})`;
    throw new ReinmaxInputError(
      layerArgument(last, declarations[last].kind),
      `the last layer gives ${width} values per example, but ${what} needs ${wanted}: end with linear(${wanted})`,
    );
  }
  if (checked.kind !== "gaussian" && declarations[last].kind === "sigmoid") {
    throw new ReinmaxInputError(
      layerArgument(last, "sigmoid"),
      `the ${checked.kind} likelihood reads logits and applies its own ${
        checked.kind === "bernoulli" ? "sigmoid" : "softmax"
      }: end with linear(${wanted}), without sigmoid()`,
    );
  }
  const stochastic = declarations.flatMap((d, i) => (isLatent(d) ? [i] : []));
  for (const i of stochastic.slice(0, -1)) {
    const d = declarations[i] as CategoricalLayer | BernoulliLayer;
    if (ESTIMATORS[d.estimator.name].scoreFunction) {
      throw new ReinmaxInputError(
        `${layerArgument(i, d.kind)}.estimator`,
        `${d.estimator.name} weighs the losses of the layer's codes, which only the model's last stochastic ` +
          `layer sees unchanged; layer ${i} is followed by stochastic layer ${
            stochastic[stochastic.length - 1]
          }`,
      );
    }
  }
  return { declarations, likelihood: checked };
}

/**
 * Declares every layer's buffers and parameters in `planner.plan`, in declaration order (parameters are
 * initialised in that order), on `input` (the model's input rows).
 */
export function planStack(
  planner: LayerPlanner,
  input: DenseActivation,
  declarations: readonly LayerDeclaration[],
  likelihoodDeclaration: LikelihoodDeclaration,
): PlannedStack {
  const layers: PlannedLayer[] = [];
  const latents: (CategoricalLatent | BernoulliLatent)[] = [];
  let values: Values = input;
  const dense = (v: Values): DenseActivation => (v.kind === "dense" ? v : v.dense());
  declarations.forEach((d, i) => {
    const name = d.name ?? `layers.${i}`;
    // The data needs no gradient: only a layer above another one propagates to its input.
    const needsInputGrad = i > 0;
    let layer: PlannedLayer;
    if (d.kind === "linear") layer = new Linear(i, name, d, values, planner, needsInputGrad);
    else if (d.kind === "categorical") {
      const latent = new CategoricalLatent(
        i,
        latents.length,
        name,
        d,
        dense(values),
        planner,
        needsInputGrad,
      );
      latents.push(latent);
      layer = latent;
    } else if (d.kind === "bernoulli") {
      const latent = new BernoulliLatent(i, latents.length, name, d, dense(values), planner, needsInputGrad);
      latents.push(latent);
      layer = latent;
    } else layer = new Activation(i, name, d, dense(values), planner);
    layers.push(layer);
    values = layer.output;
  });
  const likelihood = new Likelihood(likelihoodDeclaration, dense(values), planner);
  // Only the last stochastic layer's codes reach the likelihood without further draws, so only it can weigh
  // its codes by the likelihood's scores (the score-function estimators; checked in checkStack).
  const last = latents[latents.length - 1];
  if (last instanceof BernoulliLatent) {
    last.attachAbove({ layers: layers.slice(last.index + 1), likelihood, input });
  }
  return { declarations, likelihoodDeclaration, layers, latents, likelihood };
}
