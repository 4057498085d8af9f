// The JSON schemas Glance serves at /v2/schemas/*, which glanceclient uses to tell base attributes from
// extra properties. `stores` is left out on purpose: glanceclient 4.1 turns it into a conflicting --stores option.
import { CONTAINER_FORMATS, DISK_FORMATS, IMAGE_STATUSES, MEMBER_STATUSES, VISIBILITIES } from './model.ts';

const UUID_PATTERN =
  '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

const optional = (description: string, extra: Record<string, unknown> = {}) => ({
  type: 'string',
  description,
  is_base: false,
  ...extra,
});

export function imageSchema(): Record<string, unknown> {
  return {
    name: 'image',
    properties: {
      id: { type: 'string', description: 'An identifier for the image', pattern: UUID_PATTERN },
      name: { type: ['null', 'string'], description: 'Descriptive name for the image', maxLength: 255 },
      status: {
        type: 'string',
        readOnly: true,
        description: 'Status of the image',
        enum: [...IMAGE_STATUSES],
      },
      visibility: { type: 'string', description: 'Scope of image accessibility', enum: [...VISIBILITIES] },
      protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
      os_hidden: {
        type: 'boolean',
        description: 'If true, image will not appear in default image list response.',
      },
      checksum: {
        type: ['null', 'string'],
        readOnly: true,
        description: 'md5 hash of image contents.',
        maxLength: 32,
      },
      os_hash_algo: {
        type: ['null', 'string'],
        readOnly: true,
        description: 'Algorithm to calculate the os_hash_value',
        maxLength: 64,
      },
      os_hash_value: {
        type: ['null', 'string'],
        readOnly: true,
        description: 'Hexdigest of the image contents using the algorithm specified by the os_hash_algo',
        maxLength: 128,
      },
      owner: { type: ['null', 'string'], description: 'Owner of the image', maxLength: 255 },
      size: { type: ['null', 'integer'], readOnly: true, description: 'Size of image file in bytes' },
      virtual_size: {
        type: ['null', 'integer'],
        readOnly: true,
        description: 'Virtual size of image in bytes',
      },
      container_format: {
        type: ['null', 'string'],
        description: 'Format of the container',
        enum: [null, ...CONTAINER_FORMATS],
      },
      disk_format: {
        type: ['null', 'string'],
        description: 'Format of the disk',
        enum: [null, ...DISK_FORMATS],
      },
      created_at: { type: 'string', readOnly: true, description: 'Date and time of image registration' },
      updated_at: {
        type: 'string',
        readOnly: true,
        description: 'Date and time of the last image modification',
      },
      tags: {
        type: 'array',
        description: 'List of strings related to the image',
        items: { type: 'string', maxLength: 255 },
      },
      direct_url: {
        type: 'string',
        readOnly: true,
        description: 'URL to access the image file kept in external store',
      },
      min_ram: { type: 'integer', description: 'Amount of ram (in MB) required to boot image.' },
      min_disk: { type: 'integer', description: 'Amount of disk space (in GB) required to boot image.' },
      self: { type: 'string', readOnly: true, description: 'An image self url' },
      file: { type: 'string', readOnly: true, description: 'An image file url' },
      schema: { type: 'string', readOnly: true, description: 'An image schema url' },
      locations: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            url: { type: 'string', maxLength: 255 },
            metadata: { type: 'object' },
            validation_data: {
              description:
                "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
              type: 'object',
              writeOnly: true,
              additionalProperties: false,
              properties: {
                checksum: { type: 'string', minLength: 32, maxLength: 32 },
                os_hash_algo: { type: 'string', maxLength: 64 },
                os_hash_value: { type: 'string', maxLength: 128 },
              },
              required: ['os_hash_algo', 'os_hash_value'],
            },
          },
          required: ['url', 'metadata'],
        },
        description: 'A set of URLs to access the image file kept in external store',
      },
      // The optional properties of Debian's /etc/glance/schema-image.json, in Glance's order.
      kernel_id: optional(
        'ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.',
        { type: ['null', 'string'], pattern: UUID_PATTERN },
      ),
      ramdisk_id: optional(
        'ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.',
        { type: ['null', 'string'], pattern: UUID_PATTERN },
      ),
      instance_uuid: optional(
        'Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)',
      ),
      architecture: optional(
        'Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html',
      ),
      os_distro: optional(
        'Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html',
      ),
      os_version: optional('Operating system version as specified by the distributor.'),
      description: optional('A human-readable string describing this image.'),
      cinder_encryption_key_id: optional(
        'Identifier in the OpenStack Key Management Service for the encryption key for the Block Storage Service to use when mounting a volume created from this image',
      ),
      cinder_encryption_key_deletion_policy: optional(
        "States the condition under which the Image Service will delete the object associated with the 'cinder_encryption_key_id' image property.  If this property is missing, the Image Service will take no action",
        { enum: ['on_image_deletion', 'do_not_delete'] },
      ),
    },
    additionalProperties: { type: 'string' },
    links: [
      { rel: 'self', href: '{self}' },
      { rel: 'enclosure', href: '{file}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

export function imagesSchema(): Record<string, unknown> {
  return {
    name: 'images',
    properties: {
      images: { type: 'array', items: imageSchema() },
      schema: { type: 'string' },
      first: { type: 'string' },
      next: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

export function memberSchema(): Record<string, unknown> {
  return {
    name: 'member',
    properties: {
      created_at: { type: 'string', description: 'Date and time of image member creation' },
      image_id: { type: 'string', description: 'An identifier for the image', pattern: UUID_PATTERN },
      member_id: { type: 'string', description: 'An identifier for the image member (tenantId)' },
      status: { type: 'string', description: 'The status of this image member', enum: [...MEMBER_STATUSES] },
      updated_at: { type: 'string', description: 'Date and time of last modification of image member' },
      schema: { readOnly: true, type: 'string' },
    },
  };
}

export function membersSchema(): Record<string, unknown> {
  return {
    name: 'members',
    properties: { members: { type: 'array', items: memberSchema() }, schema: { type: 'string' } },
    links: [{ rel: 'describedby', href: '{schema}' }],
  };
}
