// Redocly plugin: teaches the linter that the root extension
// `x-router-responses` of api-spec/openapi.yaml is a map of status code to
// Response object. Those are the answers the router gives for any path (404
// for an unknown path, 405 for a known path with a method it lacks, 414);
// OpenAPI has no place for them, and without this the linter would neither
// check them nor count the components they use.
export default function routerResponsesPlugin() {
  return {
    id: 'yijian',
    typeExtension: {
      oas3(types) {
        return {
          ...types,
          Root: {
            ...types.Root,
            properties: {
              ...types.Root.properties,
              'x-router-responses': 'Responses',
            },
          },
        };
      },
    },
  };
}
