// The topic the ASR job watcher publishes CloudEvents to, and (once the code is published) the app's
// Event Grid trigger subscribed to it, with dead letters kept in the storage account.
param location string
param namePrefix string
param tags object
param storageAccountId string
param deadLetterContainer string
@description('The function app; empty until the code is published (the subscription needs the function).')
param functionAppId string = ''
@description('A Storage Queue (in the app\'s account) that receives the transition events, for a team to wire email or chat to; empty: none.')
param notificationQueueName string = ''
@description('Reverse-DNS prefix of the transition events\' types (AZMIGRATE_EVENT_TYPE_PREFIX).')
param eventTypePrefix string = 'com.migrationautopilot'

// The app's own trigger takes the job watcher's events only; people's tools take the transitions.
var jobEventTypes = [ 'MigrationAutopilot.AsrJob.StateChanged' ]
var transitionEventTypes = [for kind in [ 'phase.changed', 'vm.blocked', 'vm.failed', 'approval.requested', 'migration.completed', 'warning.raised' ]: '${eventTypePrefix}.${kind}']
var queueDataMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a' // Storage Queue Data Message Sender

resource topic 'Microsoft.EventGrid/topics@2024-06-01-preview' = {
  // checkov:skip=CKV_AZURE_193: identity-only access over the public endpoint; a private-endpoint variant needs a VNet, which this template does not build (see infra/README.md); local (key) auth is disabled
  name: '${namePrefix}-asr-jobs'
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    minimumTlsVersionAllowed: '1.2'
  }
}

resource subscriptionToApp 'Microsoft.EventGrid/topics/eventSubscriptions@2024-06-01-preview' = if (!empty(functionAppId)) {
  parent: topic
  name: 'autopilot-asr-job-event'
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    filter: {
      includedEventTypes: jobEventTypes
    }
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/asr_job_event'
        maxEventsPerBatch: 1
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storageAccountId
          blobContainerName: deadLetterContainer
        }
      }
    }
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = if (!empty(notificationQueueName)) {
  name: last(split(storageAccountId, '/'))
}

resource notificationQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = if (!empty(notificationQueueName)) {
  name: '${last(split(storageAccountId, '/'))}/default/${notificationQueueName}'
}

resource topicSendsToQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(notificationQueueName)) {
  name: guid(storageAccountId, topic.id, queueDataMessageSender)
  scope: storage
  properties: {
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataMessageSender)
  }
}

resource subscriptionToQueue 'Microsoft.EventGrid/topics/eventSubscriptions@2024-06-01-preview' = if (!empty(notificationQueueName)) {
  parent: topic
  name: 'autopilot-transitions-to-queue'
  dependsOn: [ notificationQueue, topicSendsToQueue ]
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    filter: {
      includedEventTypes: transitionEventTypes
    }
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storageAccountId
          queueName: notificationQueueName
          queueMessageTimeToLiveInSeconds: 604800
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output topicId string = topic.id
output topicName string = topic.name
output endpoint string = topic.properties.endpoint
output principalId string = topic.identity.principalId
