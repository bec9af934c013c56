// Types for every operation in src/, generated from the committed SDL (never from a live server), so
// a schema change that breaks this client fails `npm run check` and the suite's test of it.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema/schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        scalars: { DateTime: "string", Date: "string", JSON: "unknown", Upload: "File" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
