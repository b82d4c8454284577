import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type SchemaObject, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import { PAYLOAD_SCHEMAS, PAYLOAD_TYPES } from '../../domain/payloads/schemas.js';
import { payloadSchemaName } from './dto.js';

/** OpenAPI at /docs (Swagger UI) and /docs-json: the DTO classes plus one schema per payload type. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('DAGGER node API')
    .setDescription(
      'One node of a DAGGER network. Errors are {"error":{"code","message","details"?}}; ' +
        'lists are {"items":[...],"next"?} with `after`=`next` for the next page.',
    )
    .setVersion('1')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  const schemas = ((document.components ??= {}).schemas ??= {});
  for (const type of PAYLOAD_TYPES)
    schemas[payloadSchemaName(type)] = z.toJSONSchema(PAYLOAD_SCHEMAS[type], {
      io: 'input',
      target: 'openapi-3.0',
    }) as SchemaObject;
  SwaggerModule.setup('docs', app, document);
}
