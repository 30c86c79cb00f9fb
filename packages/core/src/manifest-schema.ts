/**
 * JSON Schema (draft 2020-12) of {@link ModelManifest}, for editors and other
 * languages. {@link parseManifest} enforces it plus the cross-field rules a
 * schema cannot state (references between stages, map shapes, exit roles).
 */
export const manifestJsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://dytrack.dev/schemas/dytrack.model.v1.json',
  title: 'DyTrack model manifest',
  type: 'object',
  required: ['format', 'version', 'name', 'input', 'head', 'stages'],
  additionalProperties: false,
  patternProperties: { '^x-': {} },
  properties: {
    $schema: { type: 'string' },
    format: { const: 'dytrack.model' },
    version: { const: 1 },
    name: { type: 'string', minLength: 1 },
    variant: { type: 'string', minLength: 1 },
    input: {
      type: 'object',
      required: ['template', 'search', 'normalization'],
      additionalProperties: false,
      patternProperties: { '^x-': {} },
      properties: {
        template: { $ref: '#/$defs/crop' },
        search: { $ref: '#/$defs/crop' },
        normalization: {
          type: 'object',
          required: ['mean', 'std'],
          additionalProperties: false,
          patternProperties: { '^x-': {} },
          properties: {
            mean: { type: 'array', items: { type: 'number' }, minItems: 3, maxItems: 3 },
            std: { type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, minItems: 3, maxItems: 3 },
          },
        },
      },
    },
    head: {
      type: 'object',
      required: ['mapSize', 'stride'],
      additionalProperties: false,
      patternProperties: { '^x-': {} },
      properties: { mapSize: { type: 'integer', minimum: 1 }, stride: { type: 'integer', minimum: 1 } },
    },
    templateEncoder: { $ref: '#/$defs/graph' },
    stages: {
      type: 'array',
      minItems: 1,
      items: {
        allOf: [{ $ref: '#/$defs/graph' }],
        type: 'object',
        required: ['name', 'exit'],
        properties: {
          name: { type: 'string', minLength: 1 },
          blocks: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 2, maxItems: 2 },
          exit: {
            type: 'object',
            required: ['defaultThreshold'],
            additionalProperties: false,
            patternProperties: { '^x-': {} },
            properties: { defaultThreshold: { type: 'number', minimum: 0, maximum: 1 } },
          },
        },
      },
    },
    provenance: { type: 'object' },
  },
  $defs: {
    crop: {
      type: 'object',
      required: ['size', 'contextFactor'],
      additionalProperties: false,
      patternProperties: { '^x-': {} },
      properties: { size: { type: 'integer', minimum: 1 }, contextFactor: { type: 'number', exclusiveMinimum: 0 } },
    },
    dtype: { enum: ['float32', 'float16'] },
    shape: { type: 'array', items: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', minLength: 1 }] } },
    graph: {
      type: 'object',
      required: ['file', 'sha256', 'inputs', 'outputs'],
      properties: {
        file: { type: 'string', minLength: 1, not: { pattern: '(^/|\\\\|(^|/)\\.\\.(/|$))' } },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        flops: { type: 'number', minimum: 0 },
        params: { type: 'integer', minimum: 0 },
        inputs: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['name', 'dtype', 'shape', 'source'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1 },
              dtype: { $ref: '#/$defs/dtype' },
              shape: { $ref: '#/$defs/shape' },
              source: {
                oneOf: [
                  { type: 'object', required: ['kind'], additionalProperties: false, properties: { kind: { enum: ['template-image', 'search-image'] } } },
                  {
                    type: 'object',
                    required: ['kind', 'stage', 'output'],
                    additionalProperties: false,
                    properties: {
                      kind: { const: 'output' },
                      stage: { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'template' }] },
                      output: { type: 'string', minLength: 1 },
                    },
                  },
                ],
              },
            },
          },
        },
        outputs: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['name', 'dtype', 'shape', 'role'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1 },
              dtype: { $ref: '#/$defs/dtype' },
              shape: { $ref: '#/$defs/shape' },
              role: {
                enum: ['tokens', 'score-map', 'size-map', 'offset-map', 'terminating-score', 'head-features', 'template-tokens', 'template-cache', 'auxiliary'],
              },
            },
          },
        },
      },
    },
  },
} as const;
